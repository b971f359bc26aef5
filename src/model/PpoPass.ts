import * as tf from "@tensorflow/tfjs"
import * as PpoMath from "../math/Ppo.ts"
import * as ActionBatch from "./ActionBatch.ts"
import * as Policy from "./Policy.ts"
import type * as Transformer from "./Transformer.ts"

/**
 * One packed forward and backward pass of a PPO minibatch (src/stages/Ppo.ts), as plain data, so that it can be posted
 * to another thread and computed there (`GradientThreads`). Per row (an action of the batch) and action token: the old
 * policy's log-prob and value, the advantage and the return, each (R, A) row-major with A the batch's widest action.
 */
export interface Pass {
  readonly batch: ActionBatch.ActionBatch
  readonly oldLogp: Float32Array // (R, A)
  readonly oldValues: Float32Array // (R, A)
  readonly advantages: Float32Array // (R, A)
  readonly returns: Float32Array // (R, A)
  readonly clip: number
  readonly valueClip: number
  readonly vfCoef: number
  readonly entropyCoef: number
  readonly weight: number // action tokens of the pass over those of the minibatch, times the number of passes (token-weighted)
}

/** Action tokens of the pass (its mask's sum): the weight of its statistics. */
export const tokens = (pass: Pass): number => pass.batch.mask.reduce((a, c) => a + c, 0)

/**
 * The pass's loss (clipped surrogate + vfCoef * clipped value loss - entropyCoef * entropy); `capture` gets (6,)
 * [policy loss, value loss, entropy, approx KL, clip fraction, value clip fraction], each times the pass's action tokens.
 */
export const loss = (policy: Transformer.Model, pass: Pass, capture: (statistics: tf.Tensor) => void): tf.Scalar =>
  tf.tidy(() => {
    const b = pass.batch
    const n = b.rows
    const W = b.width
    const t = ActionBatch.tensors(b, policy.config.copyHead === true)
    const o = Policy.outputs(policy, t)
    const pl = PpoMath.policyLoss(o.logp, tf.tensor2d(pass.oldLogp, [n, W]), tf.tensor2d(pass.advantages, [n, W]), t.mask, pass.clip)
    const vl = PpoMath.valueLoss(o.values, tf.tensor2d(pass.oldValues, [n, W]), tf.tensor2d(pass.returns, [n, W]), t.mask, pass.valueClip)
    const ent = PpoMath.entropy(tf.expandDims(o.entryLogits, 0) as tf.Tensor3D, tf.expandDims(o.entryMask, 0) as tf.Tensor2D) // over the action tokens
    let loss: tf.Scalar = tf.add(pl.loss, tf.mul(pass.vfCoef, vl.loss))
    if (pass.entropyCoef > 0) loss = tf.sub(loss, tf.mul(pass.entropyCoef, ent))
    capture(tf.mul(tf.stack([pl.loss, vl.loss, ent, pl.approxkl, pl.clipfrac, vl.clipfrac]), tokens(pass)))
    return tf.mul(loss, pass.weight) as tf.Scalar
  })
