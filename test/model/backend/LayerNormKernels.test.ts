import * as tf from "@tensorflow/tfjs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as LayerNormKernels from "../../../src/model/backend/LayerNormKernels.ts"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"
import * as Wasm from "../../../src/model/backend/WasmInternals.ts"
import { layerNorm, layerNormInference } from "../../../src/model/LayerNorm.ts"
import { quietCpu, values } from "./Reference.ts"

beforeAll(async () => {
  await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 1, matmul: "xnnpack" }, {}))
  await quietCpu()
  await tf.setBackend("wasm")
})

const eps = 1e-5

/** LayerNorm as the tfjs ops LayerNorm.ts composes where the kernels do not run: the arithmetic the kernels must keep. */
const composed = (x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor) => {
  const xc = tf.sub(x, tf.mean(x, -1, true))
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.mul(xc, xc), -1, true), eps))
  const xhat = tf.mul(xc, rstd)
  return { y: tf.add(tf.mul(xhat, gain), bias), xhat, rstd }
}

const composedGrad = (dy: tf.Tensor, xhat: tf.Tensor, rstd: tf.Tensor, gain: tf.Tensor) => {
  const dxhat = tf.mul(dy, gain)
  return tf.mul(rstd, tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xhat, tf.mean(tf.mul(dxhat, xhat), -1, true))))
}

/** Bitwise equality of two float32 arrays, else the first difference. */
const same = (got: Float32Array, want: Float32Array): string | undefined => {
  if (got.length !== want.length) return `length ${got.length} against ${want.length}`
  const i = want.findIndex((w, j) => !Object.is(w, got[j]))
  return i < 0 ? undefined : `at ${i}: ${got[i]} against ${want[i]}`
}

describe("LayerNormKernels (LayerNorm's forward and dx in wasm SIMD, the tfjs ops' float32 arithmetic)", () => {
  it("the modules validate and the kernels run on this wasm backend", () => {
    const { forward, grad } = LayerNormKernels.bytes(false)
    assert.isTrue(Wasm.webAssembly.validate(forward) && Wasm.webAssembly.validate(grad))
    assert.isTrue(LayerNormKernels.available(128))
    assert.isFalse(LayerNormKernels.available(130)) // not a multiple of 4: the tfjs ops
  })

  for (const [N, C] of [[1292, 128], [7, 192], [5, 12], [3, 8], [0, 16]] as const) {
    it(`(${N}, ${C}): y, xhat, rstd, dx, dgain and dbias equal the ops' to the bit`, () => {
      const x = tf.mul(tf.tensor2d(values(N * C, 1), [N, C]), 3)
      const gain = tf.add(tf.tensor1d(values(C, 2)), 1)
      const bias = tf.tensor1d(values(C, 3))
      const dy = tf.tensor2d(values(N * C, 4), [N, C])
      const want = composed(x, gain, bias)
      const got = tf.engine().runKernel(LayerNormKernels.names.forward, { x, gain, bias }, { eps }) as unknown as Array<tf.Tensor>
      assert.isUndefined(same(got[0]!.dataSync() as Float32Array, want.y.dataSync() as Float32Array), "y")
      assert.isUndefined(same(got[1]!.dataSync() as Float32Array, want.xhat.dataSync() as Float32Array), "xhat")
      assert.isUndefined(same(got[2]!.dataSync() as Float32Array, want.rstd.dataSync() as Float32Array), "rstd")
      const dx = tf.engine().runKernel(LayerNormKernels.names.grad, { dy, xhat: want.xhat, rstd: want.rstd, gain }) as tf.Tensor
      assert.isUndefined(same(dx.dataSync() as Float32Array, composedGrad(dy, want.xhat, want.rstd, gain).dataSync() as Float32Array), "dx")
      // through LayerNorm.ts's custom gradient, which uses the kernels here
      const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layerNorm(a as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, eps), dy)))([x, gain, bias])
      assert.isUndefined(same(grads[0]!.dataSync() as Float32Array, composedGrad(dy, want.xhat, want.rstd, gain).dataSync() as Float32Array), "dx via layerNorm")
      assert.isUndefined(same(grads[1]!.dataSync() as Float32Array, tf.sum(tf.mul(dy, want.xhat), 0).dataSync() as Float32Array), "dgain")
      assert.isUndefined(same(grads[2]!.dataSync() as Float32Array, tf.sum(dy, 0).dataSync() as Float32Array), "dbias")
      assert.isUndefined(same(layerNormInference(x as tf.Tensor2D, gain as tf.Tensor1D, bias, eps).dataSync() as Float32Array, want.y.dataSync() as Float32Array), "inference")
    })
  }

  it("refuses shapes it does not take, in one line", () => {
    const x = tf.zeros([4, 6])
    assert.throws(() => tf.engine().runKernel(LayerNormKernels.names.forward, { x, gain: tf.zeros([6]), bias: tf.zeros([6]) }, { eps }), /shapes \[4,6\] and \[6\] \(want \(N, C\) and \(C\), C a multiple of 4\)/)
    assert.throws(() => tf.engine().runKernel(LayerNormKernels.names.forward, { x: tf.zeros([4, 8]), gain: tf.zeros([4]), bias: tf.zeros([4]) }, { eps }), /shapes/)
  })
})
