import * as tf from "@tensorflow/tfjs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"
import * as Rng from "../../../src/model/Rng.ts"
import { on, quietCpu, relativeError, sizeOf, values } from "./Reference.ts"

beforeAll(async () => {
  await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 1, matmul: "xnnpack" }, {}))
  await quietCpu()
})

describe("Slice and SplitV on wasm (strided slices as contiguous runs, the rest by the stock kernel)", () => {
  const cases: ReadonlyArray<{ shape: Array<number>; begin: Array<number>; size: Array<number>; dtype?: "int32" }> = [
    { shape: [2, 4, 471, 32], begin: [0, 0, 157, 0], size: [-1, -1, 157, -1] }, // a block of queries
    { shape: [2, 4, 32, 471], begin: [0, 0, 0, 0], size: [-1, -1, -1, 314] }, // a prefix of keys (transposed)
    { shape: [2, 1, 300, 300], begin: [0, 0, 150, 0], size: [-1, -1, 150, 300] }, // a block of a packed mask
    { shape: [5, 7, 3], begin: [1, 2, 1], size: [3, 4, 2] }, // every axis partial
    { shape: [5, 7], begin: [0, 3], size: [5, 2] },
    { shape: [9, 4], begin: [2, 0], size: [3, -1] }, // contiguous: stock
    { shape: [6, 6], begin: [1, 1], size: [0, 3] }, // empty: stock
    { shape: [4, 6, 5], begin: [1, 0, 2], size: [2, 6, 3], dtype: "int32" }
  ]
  for (const c of cases) {
    it(`[${c.shape}] from [${c.begin}] size [${c.size}]${c.dtype === "int32" ? " (int32)" : ""} matches cpu`, async () => {
      const run = () => {
        const x = tf.tensor(values(sizeOf(c.shape), 3), c.shape)
        return tf.slice(c.dtype === "int32" ? tf.cast(tf.mul(x, 1000), "int32") : x, c.begin, c.size)
      }
      assert.isAtMost(relativeError(await on("wasm", run), await on("cpu", run)), 0)
    })
  }
  it("splits like cpu along every axis, into sizes and into equal parts, values and gradients (the gradient of concat)", async () => {
    const shape = [2, 3, 12, 4]
    for (let axis = 0; axis < 4; axis++) {
      for (const splits of [axis === 2 ? [5, 0, 7] : [1, shape[axis]! - 1], [2, 3, 3, 2][axis]!]) {
        const parts = () => tf.split(tf.tensor(values(sizeOf(shape), 7), shape), splits, axis)
        const joined = () => tf.concat(parts().map((p, i) => tf.mul(p, i + 1)), axis)
        // tfjs's own gradient of split fails on an empty part (and on one part, on cpu too): those are left out
        const gradSplits = Array.isArray(splits) ? splits.filter((n) => n > 0) : splits
        const grad = () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.concat(tf.split(v, gradSplits, axis).map((p, i) => tf.mul(p, i + 1)), axis), v)))(tf.tensor(values(sizeOf(shape), 7), shape))
        assert.isAtMost(relativeError(await on("wasm", joined), await on("cpu", joined)), 0, `axis ${axis} splits ${splits}`)
        assert.isAtMost(relativeError(await on("wasm", grad), await on("cpu", grad)), 0, `axis ${axis} splits ${splits}`)
      }
    }
  })
  it("matches cpu on random shapes and slices, values and gradients", async () => {
    const r = Rng.make(5)
    const int = (n: number) => Math.floor(Rng.uniform(r) * n)
    for (let t = 0; t < 40; t++) {
      const shape = Array.from({ length: 1 + int(4) }, () => 1 + int(6))
      const begin = shape.map((d) => int(d))
      const size = shape.map((d, i) => (int(5) === 0 ? -1 : 1 + int(d - begin[i]!)))
      const x = () => tf.tensor(values(sizeOf(shape), t), shape)
      const value = () => tf.slice(x(), begin, size)
      const grad = () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.slice(v, begin, size), 2)))(x())
      assert.isAtMost(relativeError(await on("wasm", value), await on("cpu", value)), 0, `${shape} ${begin} ${size}`)
      assert.isAtMost(relativeError(await on("wasm", grad), await on("cpu", grad)), 0, `${shape} ${begin} ${size}`)
    }
  })
})
