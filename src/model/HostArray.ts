import * as tf from "@tensorflow/tfjs"

/**
 * Float32 tensors to and from arrays that the caller owns, with no copy more than the backend makes: wasm's read is
 * already a copy out of its heap and its write copies in, while the cpu backend hands out (and keeps) its own store.
 */

/** A tensor's values in an array of the caller's own. */
export const read = (t: tf.Tensor): Float32Array => {
  const data = t.dataSync() as Float32Array
  return tf.getBackend() === "wasm" ? data : data.slice()
}

/** A tensor of `x`'s values that does not alias `x` (the caller may write `x` afterwards). */
export const tensor = (x: Float32Array, shape: ReadonlyArray<number>): tf.Tensor =>
  tf.tensor(tf.getBackend() === "wasm" ? x : x.slice(), [...shape], "float32")
