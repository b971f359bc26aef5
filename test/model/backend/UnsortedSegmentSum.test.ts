import * as tf from "@tensorflow/tfjs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"
import { on, quietCpu, relativeError, sizeOf, values } from "./Reference.ts"

beforeAll(async () => {
  await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 1, matmul: "xnnpack" }, {}))
  await quietCpu()
})

describe("UnsortedSegmentSum on wasm", () => {
  const cases: ReadonlyArray<{ x: ReadonlyArray<number>; ids: ReadonlyArray<number>; segments: number }> = [
    { x: [7], ids: [2, 0, 2, 5, 1, 2, 0], segments: 6 },
    { x: [9, 3], ids: [1, 1, 0, 3, 3, 3, 2, 0, 1], segments: 4 },
    { x: [5, 4, 3], ids: [0, 2, 2, 0, 1], segments: 3 },
    { x: [6, 17], ids: [4, -1, 9, 4, 0, 1], segments: 5 } // ids out of range are dropped, as on cpu
  ]
  for (const c of cases) {
    it(`x [${c.x}], ${c.ids.length} ids into ${c.segments} segments matches cpu`, async () => {
      const run = () => tf.unsortedSegmentSum(tf.tensor(values(sizeOf(c.x), 1), [...c.x]), tf.tensor1d([...c.ids], "int32"), c.segments)
      const got = await on("wasm", run)
      const want = await on("cpu", run)
      await tf.setBackend("wasm")
      assert.isAtMost(relativeError(got, want), 1e-6)
    })
  }

  it("sums int32 values", async () => {
    await tf.setBackend("wasm")
    const out = tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4], "int32"), tf.tensor1d([1, 0, 1, 1], "int32"), 2)
    assert.strictEqual(out.dtype, "int32")
    assert.deepStrictEqual(Array.from(out.dataSync()), [2, 8])
    out.dispose()
  })

  it("makes the gradient of gather work: an embedding lookup trains on wasm", async () => {
    await tf.setBackend("wasm")
    const vocab = 11
    const dim = 4
    const table = tf.variable(tf.tensor(values(vocab * dim, 5), [vocab, dim]))
    const ids = tf.tensor1d([3, 7, 3, 0, 10, 7], "int32")
    const target = tf.tensor(values(6 * dim, 6), [6, dim])
    const loss = () => tf.mean(tf.square(tf.sub(tf.gather(table, ids), target))) as tf.Scalar
    const optimizer = tf.train.sgd(0.5)
    const first = tf.tidy(() => loss().dataSync()[0])
    for (let i = 0; i < 30; i++) optimizer.minimize(loss, false, [table])
    const last = tf.tidy(() => loss().dataSync()[0])
    // Rows never looked up keep their values.
    const untouched = tf.tidy(() => tf.gather(table, tf.tensor1d([1], "int32")).dataSync())
    assert.isBelow(last, first / 10)
    assert.isAtMost(relativeError(untouched, values(vocab * dim, 5).subarray(dim, 2 * dim)), 1e-7)
    tf.dispose([table, ids, target])
    optimizer.dispose()
  })
})
