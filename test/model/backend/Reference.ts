import * as tf from "@tensorflow/tfjs"

/** Shared by the kernel tests: deterministic inputs and the cpu backend as the reference. */

/** Sizes that exercise XNNPACK's tiles and their edges (1, odd, around 64, over 128). */
export const sizes = [1, 3, 17, 63, 65, 130] as const

/** `n` deterministic values in about [-1, 1], different for each `salt`. */
export const values = (n: number, salt: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7133 + salt * 1.37) * Math.cos(i * 0.0171 + salt))

export const sizeOf = (shape: ReadonlyArray<number>): number => shape.reduce((p, d) => p * d, 1)

/** max |x - y| / max |y|: the error relative to the reference's scale (0 when both are all zero). */
export const relativeError = (x: ArrayLike<number>, y: ArrayLike<number>): number => {
  if (x.length !== y.length) return Number.POSITIVE_INFINITY
  let diff = 0
  let scale = 0
  for (let i = 0; i < y.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]))
    scale = Math.max(scale, Math.abs(y[i]))
  }
  return scale === 0 ? diff : diff / scale
}

/** Runs `f` on tfjs backend `name`, returning its values (tensors are released). */
export const on = async (name: "wasm" | "cpu", f: () => tf.Tensor): Promise<Float32Array> => {
  await tf.setBackend(name)
  return tf.tidy(() => f().dataSync() as Float32Array)
}

/** Silences the cpu backend's "install tfjs-node" banner (it is the reference here, not a choice). */
export const quietCpu = async (): Promise<void> => {
  const previous = tf.getBackend()
  await tf.setBackend("cpu")
  ;(tf.backend() as unknown as { firstUse: boolean }).firstUse = false
  await tf.setBackend(previous)
}
