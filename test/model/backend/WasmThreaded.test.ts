import * as tf from "@tensorflow/tfjs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"
import { on, quietCpu, relativeError, sizeOf, values } from "./Reference.ts"

let info: TfjsInit.Info

beforeAll(async () => {
  info = await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 2, matmul: "xnnpack" }, {}))
  await quietCpu()
})

describe("multithreaded wasm in Node", () => {
  it("starts the threaded build with the threads asked for", () => {
    assert.strictEqual(info.name, "wasm")
    assert.strictEqual(info.matmul, "xnnpack")
    assert.deepStrictEqual(info.threads, { requested: 2, wasm: 2, blas: 0, tensorflow: 0 })
    assert.deepStrictEqual(info.notices, [])
  })

  const cases: ReadonlyArray<readonly [ReadonlyArray<number>, ReadonlyArray<number>, boolean, boolean]> = [
    [[130, 65], [65, 63], false, false],
    [[65, 130], [63, 65], true, true],
    [[4, 63, 17], [17, 130], false, false],
    [[4, 17, 63], [4, 130, 17], true, true],
    [[1, 65, 3], [6, 3, 65], false, false]
  ]
  for (const [a, b, ta, tb] of cases) {
    it(`matmul [${a}]${ta ? "ᵀ" : ""}·[${b}]${tb ? "ᵀ" : ""} matches cpu`, async () => {
      const run = () => tf.matMul(tf.tensor(values(sizeOf(a), 1), [...a]), tf.tensor(values(sizeOf(b), 2), [...b]), ta, tb)
      const got = await on("wasm", run)
      const want = await on("cpu", run)
      await tf.setBackend("wasm")
      assert.isAtMost(relativeError(got, want), 1e-4)
    })
  }
})
