import * as tf from "@tensorflow/tfjs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as GeluKernels from "../../../src/model/backend/GeluKernels.ts"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"
import * as Gelu from "../../../src/model/Gelu.ts"
import { on, quietCpu, relativeError, values } from "./Reference.ts"

beforeAll(async () => {
  await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 1, matmul: "xnnpack" }, {}))
  await quietCpu()
})

/** The tanh-GELU formula from tfjs ops, autodiff for its gradient: the reference. */
const formula = (x: tf.Tensor): tf.Tensor =>
  tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI)))))

describe("GELU kernels (one JS pass each on wasm and cpu)", () => {
  const shape: [number, number] = [130, 65]
  const x = () => tf.mul(tf.tensor2d(values(130 * 65, 1), shape), 4) // values over [-4, 4]
  const w = () => tf.tensor2d(values(130 * 65, 2), shape)
  const value = (f: (x: tf.Tensor2D) => tf.Tensor) => () => f(x() as tf.Tensor2D)
  const gradient = (f: (x: tf.Tensor2D) => tf.Tensor) => () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(f(v as tf.Tensor2D), w())))(x())

  it("are registered for wasm and cpu", async () => {
    for (const name of ["wasm", "cpu"] as const) {
      await tf.setBackend(name)
      assert.isTrue(GeluKernels.available())
    }
    await tf.setBackend("wasm")
  })
  it("give the formula's value and gradient on both backends", async () => {
    for (const name of ["wasm", "cpu"] as const) {
      assert.isAtMost(relativeError(await on(name, value(Gelu.gelu)), await on("cpu", value(formula))), 1e-6)
      assert.isAtMost(relativeError(await on(name, value(Gelu.geluInference)), await on("cpu", value(formula))), 1e-6)
      assert.isAtMost(relativeError(await on(name, gradient(Gelu.gelu)), await on("cpu", gradient(formula))), 1e-5)
    }
  })
  it("refuse another dtype or mismatched shapes with a one-line error", async () => {
    await tf.setBackend("wasm")
    assert.throws(() => tf.tidy(() => tf.engine().runKernel(GeluKernels.names.argument, { x: tf.tensor1d([1, 2], "int32") })), /float32 only/)
    const [a, b] = [tf.tensor1d([1, 2]), tf.tensor1d([1, 2, 3])]
    assert.throws(() => tf.tidy(() => tf.engine().runKernel(GeluKernels.names.grad, { dy: a, x: a, s: b })), /one shape only/)
    tf.dispose([a, b])
  })
})
