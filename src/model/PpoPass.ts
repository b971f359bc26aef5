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
  // StepAgent's `ptxCoef` (absent: none): rows that hold the expert's action at a state of the minibatch, 1 on those rows
  // (R,), trained on by negative log-likelihood times `ptxScale` per token and left out of every PPO term (their old
  // log-probs, values, advantages and returns are 0 and never read)
  readonly expert?: Float32Array | undefined
  readonly ptxScale?: number | undefined
}

/** The rows of the pass PPO trains on (all but the expert rows), 1 on each: (R,). */
const agentRows = (pass: Pass): Float32Array => Float32Array.from({ length: pass.batch.rows }, (_, r) => 1 - (pass.expert?.[r] ?? 0))

/** Action tokens of a batch's PPO rows (its mask's sum without the rows `expert` marks, when given). */
export const agentTokens = (b: ActionBatch.ActionBatch, expert?: Float32Array): number =>
  expert === undefined
    ? b.mask.reduce((a, c) => a + c, 0)
    : b.mask.reduce((a, c, k) => a + c * (1 - expert[Math.floor(k / b.width)]!), 0)

/** Action tokens of the pass's PPO rows: the weight of its statistics. */
export const tokens = (pass: Pass): number => agentTokens(pass.batch, pass.expert)

/**
 * The pass's loss (clipped surrogate + vfCoef * clipped value loss - entropyCoef * entropy, over the PPO rows; plus
 * ptxScale times the expert rows' summed token negative log-likelihood); `capture` gets (7,) [policy loss, value loss,
 * entropy, approx KL, clip fraction, value clip fraction], each times the pass's PPO action tokens, and the expert rows'
 * summed negative log-likelihood (0 without expert rows).
 */
export const loss = (policy: Transformer.Model, pass: Pass, capture: (statistics: tf.Tensor) => void): tf.Scalar =>
  tf.tidy(() => {
    const b = pass.batch
    const n = b.rows
    const W = b.width
    const t = ActionBatch.tensors(b, policy.config.copyHead === true)
    const o = Policy.outputs(policy, t)
    // without expert rows every row is PPO's and the tensors are the ones PPO always used (the same numbers to the bit)
    const agent = pass.expert === undefined ? undefined : agentRows(pass)
    const mask = agent === undefined ? t.mask : tf.mul(t.mask, tf.tensor2d(agent, [n, 1])) as tf.Tensor2D // (R, A)
    // (N,) the entries of PPO rows: the entropy is the policy's over the actions it sampled
    const entryMask = agent === undefined ? o.entryMask : tf.mul(o.entryMask, tf.tensor1d(ActionBatch.entries(b).map((k) => agent[Math.floor(k / W)]!), "float32"))
    const pl = PpoMath.policyLoss(o.logp, tf.tensor2d(pass.oldLogp, [n, W]), tf.tensor2d(pass.advantages, [n, W]), mask, pass.clip)
    const vl = PpoMath.valueLoss(o.values, tf.tensor2d(pass.oldValues, [n, W]), tf.tensor2d(pass.returns, [n, W]), mask, pass.valueClip)
    const ent = PpoMath.entropy(tf.expandDims(o.entryLogits, 0) as tf.Tensor3D, tf.expandDims(entryMask, 0) as tf.Tensor2D) // over the action tokens
    let loss: tf.Scalar = tf.add(pl.loss, tf.mul(pass.vfCoef, vl.loss))
    if (pass.entropyCoef > 0) loss = tf.sub(loss, tf.mul(pass.entropyCoef, ent))
    // (R, A) logp is 0 on padding: the expert rows' summed negative log-likelihood
    const nll = pass.expert === undefined ? tf.scalar(0) : tf.neg(tf.sum(tf.mul(o.logp, tf.tensor2d(pass.expert, [n, 1])))) as tf.Scalar
    capture(tf.concat([tf.mul(tf.stack([pl.loss, vl.loss, ent, pl.approxkl, pl.clipfrac, vl.clipfrac]), tokens(pass)), tf.reshape(nll, [1])]))
    const ppo = tf.mul(loss, pass.weight) as tf.Scalar
    return pass.expert === undefined ? ppo : tf.add(ppo, tf.mul(nll, pass.ptxScale ?? 0)) as tf.Scalar
  })
