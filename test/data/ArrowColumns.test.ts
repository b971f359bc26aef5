import { assert, describe } from "@effect/vitest"
import { fc, it as prop } from "@fast-check/vitest"
import * as ArrowColumns from "../../src/data/ArrowColumns.ts"

describe("ArrowColumns: codecs", () => {
  prop.prop([fc.array(fc.option(fc.string({ unit: "binary" }), { nil: undefined }), { maxLength: 40 })], { numRuns: 100, seed: 3 })(
    "utf8Data then utf8At/isValid is the identity",
    (values) => {
      const data = ArrowColumns.utf8Data(values)
      assert.strictEqual(data.length, values.length)
      values.forEach((v, i) => assert.strictEqual(ArrowColumns.isValid(data, i) ? ArrowColumns.utf8At(data, i) : undefined, v))
    }
  )
  prop.prop([fc.array(fc.option(fc.boolean(), { nil: null }), { maxLength: 40 }), fc.nat(20)], { numRuns: 100, seed: 5 })(
    "boolData then boolAt/isValid is the identity, also on slices (bit offsets)",
    (values, start) => {
      const data = ArrowColumns.boolData(values)
      const s = Math.min(start, values.length)
      const sliced = data.slice(s, values.length - s)
      values.slice(s).forEach((v, i) => assert.strictEqual(ArrowColumns.isValid(sliced, i) ? ArrowColumns.boolAt(sliced, i) : null, v))
    }
  )
})
