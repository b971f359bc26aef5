import * as tf from "@tensorflow/tfjs"
import * as LayerNormKernels from "./backend/LayerNormKernels.ts"

/**
 * LayerNorm over the last axis with a hand-written gradient (tf.customGrad): autodiff of the forward
 * formula emits many small kernels; this backward is the textbook three-term formula.
 *   xhat = (x - mean) * rstd,  y = xhat * gain + bias
 *   dx   = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = dy * gain
 * On wasm the forward and dx are two SIMD kernels with the same float32 arithmetic as these ops, to the bit
 * (backend/LayerNormKernels.ts); elsewhere the ops.
 * Shapes: x (N, C), gain (C,), bias (C,) -> (N, C).
 */

LayerNormKernels.install()

/** The kernel's outputs (y, xhat, rstd) on wasm; x (N, C) with C = gain's length. */
const kernelForward = (x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor, eps: number): Array<tf.Tensor> =>
  tf.engine().runKernel(LayerNormKernels.names.forward, { x, gain, bias }, { eps }) as unknown as Array<tf.Tensor>
export const layerNorm = (x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor2D =>
  forEps(eps)(x, gain, bias) as tf.Tensor2D

/** The same function without the custom-gradient bookkeeping, for inference (KV-cached decoding). */
export const layerNormInference = (x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor2D => {
  if (LayerNormKernels.available(gain.shape[0])) {
    const [y, xhat, rstd] = kernelForward(x, gain, bias, eps)
    xhat!.dispose()
    rstd!.dispose()
    return y as tf.Tensor2D
  }
  const xc = tf.sub(x, tf.mean(x, -1, true)) // (N, C)
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.mul(xc, xc), -1, true), eps)) // (N, 1)
  return tf.add(tf.mul(tf.mul(xc, rstd), gain), bias)
}

type Fn = (x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor) => tf.Tensor
const cache = new Map<number, Fn>()

const forEps = (eps: number): Fn => {
  const hit = cache.get(eps)
  if (hit !== undefined) return hit
  const fn = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, gain, bias, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc]
    if (LayerNormKernels.available(gain.shape[0]!)) {
      const [y, xhat, rstd] = kernelForward(x, gain, bias, eps)
      save([xhat!, rstd!, gain])
      return {
        value: y!,
        gradFunc: (dy: tf.Tensor, saved: Array<tf.Tensor>) => {
          const [sxhat, srstd, sgain] = saved as [tf.Tensor, tf.Tensor, tf.Tensor]
          const dx = tf.engine().runKernel(LayerNormKernels.names.grad, { dy, xhat: sxhat, rstd: srstd, gain: sgain }) as tf.Tensor
          return [dx, tf.sum(tf.mul(dy, sxhat), 0), tf.sum(dy, 0)]
        }
      }
    }
    const mean = tf.mean(x, -1, true) // (N, 1)
    const xc = tf.sub(x, mean) // (N, C)
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.mul(xc, xc), -1, true), eps)) // (N, 1)
    const xhat = tf.mul(xc, rstd) // (N, C)
    save([xhat, rstd, gain])
    return {
      value: tf.add(tf.mul(xhat, gain), bias),
      gradFunc: (dy: tf.Tensor, saved: Array<tf.Tensor>) => {
        const [sxhat, srstd, sgain] = saved as [tf.Tensor, tf.Tensor, tf.Tensor]
        const dxhat = tf.mul(dy, sgain) // (N, C)
        const dx = tf.mul(
          srstd,
          tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(sxhat, tf.mean(tf.mul(dxhat, sxhat), -1, true)))
        )
        return [dx, tf.sum(tf.mul(dy, sxhat), 0), tf.sum(dy, 0)]
      }
    }
  })
  cache.set(eps, fn)
  return fn
}
