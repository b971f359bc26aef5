import * as tf from "@tensorflow/tfjs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"
import { on, quietCpu, relativeError, sizeOf, values } from "./Reference.ts"

beforeAll(async () => {
  await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 1, matmul: "xnnpack" }, {}))
  await quietCpu()
})

describe("Sum on wasm (leading axes summed in place, the rest by the stock kernel)", () => {
  const cases: ReadonlyArray<{ shape: ReadonlyArray<number>; axis: number | Array<number> | undefined; keepDims: boolean; dtype?: "int32" }> = [
    { shape: [130, 65], axis: 0, keepDims: false }, // a bias gradient
    { shape: [17, 3, 63], axis: [0, 1], keepDims: false },
    { shape: [17, 3, 63], axis: [1, 0], keepDims: true },
    { shape: [17, 3, 5], axis: -3, keepDims: false },
    { shape: [17, 3, 5], axis: [0, 2], keepDims: false }, // not leading: stock
    { shape: [65, 17], axis: 1, keepDims: true }, // inner: stock
    { shape: [65, 17], axis: [0, 1], keepDims: false }, // everything: stock
    { shape: [65, 17], axis: undefined, keepDims: false }, // no axis: everything, stock
    { shape: [1, 130], axis: 0, keepDims: false },
    { shape: [9, 4], axis: 0, keepDims: false, dtype: "int32" } // int32: stock
  ]
  for (const c of cases) {
    it(`[${c.shape}] over ${JSON.stringify(c.axis ?? "all")}${c.keepDims ? " keeping dims" : ""}${c.dtype === "int32" ? " (int32)" : ""} matches cpu`, async () => {
      const run = () => {
        const x = tf.tensor(values(sizeOf(c.shape), 1), [...c.shape])
        const s = tf.sum(c.dtype === "int32" ? tf.cast(tf.mul(x, 100), "int32") : x, c.axis, c.keepDims)
        return s
      }
      const shapeOn = async (name: "wasm" | "cpu") => {
        await tf.setBackend(name)
        return tf.tidy(() => run().shape)
      }
      const got = await on("wasm", run)
      const want = await on("cpu", run)
      assert.deepStrictEqual(await shapeOn("wasm"), await shapeOn("cpu"))
      await tf.setBackend("wasm")
      assert.isAtMost(relativeError(got, want), 1e-6)
    })
  }
})

describe("Identity and same-dtype Cast on wasm share the input's bytes", () => {
  it("a clone outlives its source, casts still convert, and every byte is released", async () => {
    await tf.setBackend("wasm")
    const before = tf.memory()
    const x = tf.tensor(values(130 * 65, 1), [130, 65])
    const clone = tf.clone(x)
    const same = tf.cast(x, "float32")
    const ints = tf.tidy(() => tf.cast(tf.mul(x, 100), "int32"))
    x.dispose()
    assert.isAtMost(relativeError(clone.dataSync(), values(130 * 65, 1)), 0)
    assert.isAtMost(relativeError(same.dataSync(), values(130 * 65, 1)), 0)
    assert.strictEqual(ints.dtype, "int32")
    assert.deepStrictEqual(Array.from(ints.dataSync().subarray(0, 3)), Array.from(values(3, 1)).map((v) => Math.trunc(v * 100)))
    tf.dispose([clone, same, ints])
    const after = tf.memory()
    assert.strictEqual(after.numTensors, before.numTensors)
    assert.strictEqual(after.numBytes, before.numBytes)
  })

  it("gradients through mul and add (which clone and cast) match cpu", async () => {
    const grads = () => {
      const a = tf.tensor(values(17 * 63, 1), [17, 63])
      const b = tf.tensor(values(63, 2), [63])
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.mul(x, x), y), tf.sigmoid(x))))([a, b])
      return tf.concat(g.map((t) => t.flatten()))
    }
    const got = await on("wasm", grads)
    const want = await on("cpu", grads)
    await tf.setBackend("wasm")
    assert.isAtMost(relativeError(got, want), 1e-5)
  })
})
