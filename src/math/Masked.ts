import * as tf from "@tensorflow/tfjs"

/** Mean of `x` over the entries where `mask` is 1. 0 for an empty mask. `x` and `mask` have the same shape (of any rank). */
export const mean = (x: tf.Tensor, mask: tf.Tensor): tf.Scalar =>
  tf.tidy(() => tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)))
