import * as tf from "@tensorflow/tfjs"
import * as Masked from "./Masked.ts"

/**
 * PPO's clipped objectives over action tokens (pure tensor maths; the caller owns tidy/dispose).
 * Conventions follow TRL / CleanRL: losses are minimised; metrics are named as in the field.
 */
export interface PolicyLoss {
  readonly loss: tf.Scalar // loss/policy
  readonly clipfrac: tf.Scalar // policy/clipfrac: share of tokens where the clipped branch was taken
  readonly approxkl: tf.Scalar // policy/approxkl: 0.5 * E[(log r)^2]
}

/**
 *   ratio = exp(logp - oldLogp)
 *   L     = E_mask[ max(-A * ratio, -A * clip(ratio, 1 - eps, 1 + eps)) ]
 */
export const policyLoss = (
  logp: tf.Tensor2D, // (B, T) log-probs of the taken tokens under the current policy
  oldLogp: tf.Tensor2D, // (B, T) the same under the policy that sampled them
  advantages: tf.Tensor2D, // (B, T)
  mask: tf.Tensor2D, // (B, T) 1 on action tokens
  clip: number
): PolicyLoss => {
  const logRatio = tf.sub(logp, oldLogp)
  const ratio = tf.exp(logRatio)
  const pg1 = tf.neg(tf.mul(advantages, ratio))
  const pg2 = tf.neg(tf.mul(advantages, tf.clipByValue(ratio, 1 - clip, 1 + clip)))
  return {
    loss: Masked.mean(tf.maximum(pg1, pg2), mask),
    clipfrac: Masked.mean(tf.cast(tf.greater(pg2, pg1), "float32"), mask),
    approxkl: tf.mul(0.5, Masked.mean(tf.square(logRatio), mask)) as tf.Scalar
  }
}

export interface ValueLoss {
  readonly loss: tf.Scalar // loss/value
  readonly clipfrac: tf.Scalar // value/clipfrac
}

/**
 *   V_clip = oldV + clip(V - oldV, -eps, eps)
 *   L      = 0.5 * E_mask[ max((V - R)^2, (V_clip - R)^2) ]
 */
export const valueLoss = (
  values: tf.Tensor2D, // (B, T) current value head
  oldValues: tf.Tensor2D, // (B, T) value head when the samples were scored
  returns: tf.Tensor2D, // (B, T) GAE returns
  mask: tf.Tensor2D, // (B, T)
  clip: number
): ValueLoss => {
  const clipped = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -clip, clip))
  const vf1 = tf.square(tf.sub(values, returns))
  const vf2 = tf.square(tf.sub(clipped, returns))
  return {
    loss: tf.mul(0.5, Masked.mean(tf.maximum(vf1, vf2), mask)) as tf.Scalar,
    clipfrac: Masked.mean(tf.cast(tf.greater(vf2, vf1), "float32"), mask)
  }
}

/** Mean entropy of the token distributions over action tokens: E_mask[ -sum_v p_v log p_v ]. */
export const entropy = (
  logits: tf.Tensor3D, // (B, T, V)
  mask: tf.Tensor2D // (B, T)
): tf.Scalar => {
  const logProbs = tf.logSoftmax(logits) // (B, T, V)
  const h = tf.neg(tf.sum(tf.mul(tf.exp(logProbs), logProbs), -1)) // (B, T)
  return Masked.mean(h, mask)
}

/**
 * Per-token rewards of a batch of one-step episodes (pure, typed arrays):
 *   r_t = -klCoef * (logp_t - refLogp_t)   at every action token (the k1 KL estimator, as TRL)
 *   r_T += stepReward                      at the last action token
 */
export const tokenRewards = (
  logp: Float32Array, // (B, T)
  refLogp: Float32Array, // (B, T)
  mask: Float32Array, // (B, T)
  stepRewards: Float32Array, // (B,)
  batch: number,
  time: number,
  klCoef: number
): { readonly rewards: Float32Array; readonly kl: Float32Array } => {
  const rewards = new Float32Array(batch * time)
  const kl = new Float32Array(batch * time)
  for (let b = 0; b < batch; b++) {
    let last = -1
    for (let t = 0; t < time; t++) {
      const i = b * time + t
      if (mask[i] === 0) continue
      kl[i] = logp[i]! - refLogp[i]!
      rewards[i] = -klCoef * kl[i]!
      last = i
    }
    if (last >= 0) rewards[last] = rewards[last]! + stepRewards[b]!
  }
  return { rewards, kl }
}

/**
 * Advantages with the spared leading tokens of each row kept from being pushed down (pure, typed arrays): at
 * t < spared[b], a negative advantage becomes 0, a positive one stays. StepAgent spares the tokens of an agent action
 * that repeat the expert's action from its start (`spareExpertPrefix`): a low step reward judges the action, and the
 * mistake is at or after the first token that differs from the expert's, not in the part that copied it.
 */
export const spareLeading = (
  advantages: Float32Array, // (B, T)
  spared: ArrayLike<number>, // (B,): leading tokens to spare per row
  batch: number,
  time: number
): { readonly advantages: Float32Array; readonly zeroed: number } => {
  const out = Float32Array.from(advantages)
  let zeroed = 0
  for (let b = 0; b < batch; b++) {
    const n = Math.min(time, spared[b]!)
    for (let t = 0; t < n; t++) {
      const i = b * time + t
      if (out[i]! < 0) {
        out[i] = 0
        zeroed++
      }
    }
  }
  return { advantages: out, zeroed }
}
