import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as SimdColumnSum from "../../../src/model/backend/SimdColumnSum.ts"
import * as Wasm from "../../../src/model/backend/WasmInternals.ts"

/** The JS loop SimdColumnSum replaces: each column summed down the rows in float64, rounded to float32 once. */
const reference = (xs: Float32Array, rows: number, width: number): Float32Array => {
  const acc = new Float64Array(width)
  for (let i = 0; i < rows; i++) for (let j = 0; j < width; j++) acc[j] += xs[i * width + j]!
  return Float32Array.from(acc)
}

describe("SimdColumnSum (column sums in wasm SIMD, float64 down the rows)", () => {
  it("the module validates on this runtime", () => {
    assert.isTrue(Wasm.webAssembly.validate(SimdColumnSum.bytes(false)))
    assert.isTrue(Wasm.webAssembly.validate(SimdColumnSum.bytes(true)))
  })

  it("equals the float64 JS loop to the bit, any shape and 4-byte offset, writing nothing past the sums", () => {
    for (const shared of [false, true]) {
      const memory = new Wasm.webAssembly.Memory({ initial: 8, ...(shared ? { maximum: 16, shared: true } : {}) })
      const sum = SimdColumnSum.forMemory(memory)
      if (sum === undefined) return assert.fail("no SIMD column sum")
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 1 << 30 }), (rows, width, shift, salt) => {
          const src = 4 * shift
          const dst = 4 * (shift + rows * width + 5)
          const xs = new Float32Array(memory.buffer, src, rows * width)
          // values over many magnitudes, so that float32 accumulation would differ from float64
          for (let i = 0; i < xs.length; i++) xs[i] = Math.sin(i * 12.9898 + salt) * Math.pow(10, (i * 7 + salt) % 7 - 3)
          const guard = new Float32Array(memory.buffer, dst + 4 * width, 1)
          guard[0] = -7
          sum(src, dst, rows, width)
          const got = new Float32Array(memory.buffer, dst, width)
          const want = reference(xs, rows, width)
          return guard[0] === -7 && want.every((w, j) => Object.is(w, got[j]))
        }),
        { seed: 12, numRuns: 200 }
      )
    }
  })
})
