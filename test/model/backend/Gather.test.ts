import * as tf from "@tensorflow/tfjs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"
import { quietCpu, sizeOf, values } from "./Reference.ts"

beforeAll(async () => {
  await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 1, matmul: "xnnpack" }, {}))
  await quietCpu()
})

/** The gather's values and shape on one backend (tensors released). */
const gatherOn = async (
  name: "wasm" | "cpu",
  shape: ReadonlyArray<number>,
  dtype: "float32" | "int32" | "bool",
  indexShape: ReadonlyArray<number>,
  index: ReadonlyArray<number>,
  axis: number,
  batchDims: number
) => {
  await tf.setBackend(name)
  return tf.tidy(() => {
    const base = tf.tensor(values(sizeOf(shape), 3), [...shape])
    const x = dtype === "float32" ? base : dtype === "int32" ? tf.cast(tf.mul(base, 1000), "int32") : tf.greater(base, 0)
    const g = tf.gather(x, tf.tensor(Int32Array.from(index), [...indexShape], "int32"), axis, batchDims)
    return { shape: g.shape, dtype: g.dtype, data: Array.from(g.dataSync()) }
  })
}

describe("GatherV2 on wasm (slices copied in place on the heap)", () => {
  it("equals the cpu backend for any shape, axis, batchDims and dtype (bit for bit)", async () => {
    const cases = fc.record({
      rank: fc.integer({ min: 1, max: 4 }),
      dims: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 4, maxLength: 4 }),
      axisPick: fc.nat(),
      batchPick: fc.nat(),
      indexDims: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 2 }),
      seed: fc.nat(),
      dtype: fc.constantFrom("float32" as const, "int32" as const, "bool" as const)
    })
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const shape = c.dims.slice(0, c.rank)
        const axis = c.axisPick % c.rank
        const batchDims = c.batchPick % (axis + 1) // batchDims <= axis
        // the batch dimensions of the indices equal x's
        const indexShape = [...shape.slice(0, batchDims), ...c.indexDims]
        const n = sizeOf(indexShape)
        const index = Array.from({ length: n }, (_, i) => (c.seed + i * 7) % shape[axis]!)
        const got = await gatherOn("wasm", shape, c.dtype, indexShape, index, axis, batchDims)
        const want = await gatherOn("cpu", shape, c.dtype, indexShape, index, axis, batchDims)
        assert.deepStrictEqual(got, want)
      }),
      { numRuns: 150, seed: 11 }
    )
  })

  it("rows of hidden states and scalars from a small table, as the model gathers them", async () => {
    for (const [shape, count] of [[[300, 128], 257], [[5], 10_000]] as const) {
      const index = Array.from({ length: count }, (_, i) => (i * 31) % shape[0])
      const got = await gatherOn("wasm", shape, "float32", [count], index, 0, 0)
      const want = await gatherOn("cpu", shape, "float32", [count], index, 0, 0)
      assert.deepStrictEqual(got, want)
    }
  })

  it("an index out of range is refused with the stock kernel's message", async () => {
    await tf.setBackend("wasm")
    assert.throws(
      () => tf.tidy(() => tf.gather(tf.tensor1d([1, 2, 3]), tf.tensor1d([0, 3], "int32"))),
      "GatherV2: the index value 3 is not in [0, 2]"
    )
  })

  it("its gradient (UnsortedSegmentSum) trains an embedding as on cpu", async () => {
    const grad = async (name: "wasm" | "cpu") => {
      await tf.setBackend(name)
      return tf.tidy(() => {
        const table = tf.tensor(values(7 * 6, 1), [7, 6])
        const ids = tf.tensor2d([[0, 3, 3], [6, 1, 0]], [2, 3], "int32")
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), tf.tensor(values(2 * 3 * 6, 2), [2, 3, 6]))))(table)
        return Array.from(g.dataSync())
      })
    }
    const got = await grad("wasm")
    const want = await grad("cpu")
    for (let i = 0; i < want.length; i++) assert.closeTo(got[i]!, want[i]!, 1e-6)
  })
})
