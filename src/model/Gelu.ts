import * as tf from "@tensorflow/tfjs"
import * as GeluKernels from "./backend/GeluKernels.ts"

/**
 * tanh-GELU with a hand-written gradient (tf.customGrad):
 *   y  = x σ(2u),  u = sqrt(2/π) (x + 0.044715 x³)            (= 0.5 x (1 + tanh u))
 *   dy/dx = s + x s (1 - s) · 2 sqrt(2/π) (1 + 3 · 0.044715 x²),  s = σ(2u)
 * Autodiff of the formula keeps every intermediate of the forward for the backward (seven (N, F) tensors per
 * block, the MLP's widest) and its backward emits a dozen more: measured on `small` at dModel 192, a training
 * step over 4,077 tokens peaked at 3.4 GB of the wasm heap (4 GB at most). Here the forward keeps x and s only.
 * On wasm and cpu, 2u and the gradient are one JS pass each (backend/GeluKernels.ts) where tfjs ops made 5 and 10
 * passes over the (N, F) tensor; elsewhere (TensorFlow backends) the same formula from tfjs ops.
 * Shapes: x (N, F) -> (N, F).
 */
const c2 = 2 * Math.sqrt(2 / Math.PI)
const a = 0.044715

GeluKernels.install()

/** σ(2u) of x, elementwise. */
const gate = <T extends tf.Tensor>(x: T): T =>
  GeluKernels.available()
    ? tf.sigmoid(tf.engine().runKernel(GeluKernels.names.argument, { x }) as T)
    : tf.sigmoid(tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), a)), c2))

/** dy · dGELU/dx at x, from the saved s = σ(2u). */
const gateGrad = (dy: tf.Tensor, x: tf.Tensor, s: tf.Tensor): tf.Tensor => {
  if (GeluKernels.available()) return tf.engine().runKernel(GeluKernels.names.grad, { dy, x, s }) as tf.Tensor
  const du = tf.mul(tf.add(tf.mul(tf.mul(x, x), 3 * a), 1), c2) // d(2u)/dx
  return tf.mul(dy, tf.add(s, tf.mul(tf.mul(x, tf.mul(s, tf.sub(1, s))), du)))
}

const withGrad = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc]
  const s = tf.tidy(() => gate(x))
  save([x, s])
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor, saved: Array<tf.Tensor>) => {
      const [sx, ss] = saved as [tf.Tensor, tf.Tensor]
      return [gateGrad(dy, sx, ss)]
    }
  }
})

export const gelu = (x: tf.Tensor2D): tf.Tensor2D => withGrad(x) as tf.Tensor2D

/** The same function without the custom-gradient bookkeeping, for inference (KV-cached decoding). */
export const geluInference = (x: tf.Tensor2D): tf.Tensor2D => tf.mul(x, gate(x))
