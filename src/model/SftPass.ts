import * as tf from "@tensorflow/tfjs"
import * as ActionBatch from "./ActionBatch.ts"
import * as Policy from "./Policy.ts"
import type * as Transformer from "./Transformer.ts"

/**
 * One forward and backward pass of an SFT step, as plain data (typed arrays only, so it can be posted to another
 * thread and computed there: `GradientThreads`), and its loss. Rows are actions (imitation targets) or
 * language-model spans of observations; each row's tokens are weighted by `rowScale`, chosen by the caller so that
 * the passes' losses, averaged by the optimizer, make the step's loss.
 */
export interface Pass {
  readonly batch: ActionBatch.ActionBatch
  readonly rowScale: Float32Array // (R,) weight of each row's token log-likelihoods in the loss
  readonly isAction: Float32Array // (R,) 1 on action rows (counted in the token accuracy), 0 on language-model rows
}

/** The pass's loss (weighted negative log-likelihood); `capture` gets its count of action tokens predicted right (a scalar). */
export const loss = (policy: Transformer.Model, pass: Pass, capture: (statistics: tf.Tensor) => void): tf.Scalar =>
  tf.tidy(() => {
    const b = pass.batch
    const t = ActionBatch.tensors(b, policy.config.copyHead === true)
    const o = Policy.outputs(policy, t)
    const scale = tf.tensor2d(pass.rowScale, [b.rows, 1])
    const nll = tf.neg(tf.sum(tf.mul(o.logp, scale))) as tf.Scalar
    // a token counts as right when it holds over half the probability (then it is the greedy choice): exact with the copy
    // head too, whose mixture has no (R, A, V) logits to take the argmax of
    const correct = tf.mul(tf.cast(tf.greater(o.logp, Math.log(0.5)), "float32"), t.mask) // (R, A)
    capture(tf.sum(tf.mul(correct, tf.tensor2d(pass.isAction, [b.rows, 1]))))
    return nll
  })

/** Padded tokens of the pass: what its compute grows with (threads share passes by it). */
export const cost = (pass: Pass): number => pass.batch.batch * pass.batch.length
