/**
 * Generalised advantage estimation over the action tokens of one-step episodes (pure, typed arrays).
 *
 * Each row is one (state, sampled action) episode: `rewards[b, t]` already holds the per-token reward
 * (the KL penalty at every action token plus the step reward at the last one); `values[b, t]` the value
 * head's estimate before token t; `mask[b, t]` 1 on action tokens, 0 on padding. Padding lies only after
 * the action (tokens are left-aligned). Episodes end at their last action token (bootstrap value 0).
 *
 *   delta_t = r_t + gamma * V_{t+1} - V_t
 *   A_t     = delta_t + gamma * lambda * A_{t+1}
 *   R_t     = A_t + V_t            (the value target)
 */
export interface Gae {
  /** (B, T) advantages, 0 on padding. */
  readonly advantages: Float32Array
  /** (B, T) returns (value targets), 0 on padding. */
  readonly returns: Float32Array
}

export const compute = (
  rewards: Float32Array, // (B, T)
  values: Float32Array, // (B, T)
  mask: Float32Array, // (B, T)
  batch: number,
  time: number,
  gamma: number,
  lambda: number
): Gae => {
  const advantages = new Float32Array(batch * time)
  const returns = new Float32Array(batch * time)
  for (let b = 0; b < batch; b++) {
    const row = b * time
    let next = 0 // A_{t+1}
    let nextValue = 0 // V_{t+1}; 0 after the last action token (terminal)
    for (let t = time - 1; t >= 0; t--) {
      if (mask[row + t] === 0) continue
      const delta = rewards[row + t]! + gamma * nextValue - values[row + t]!
      next = delta + gamma * lambda * next
      advantages[row + t] = next
      returns[row + t] = next + values[row + t]!
      nextValue = values[row + t]!
    }
  }
  return { advantages, returns }
}
