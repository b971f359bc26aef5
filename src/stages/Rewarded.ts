import * as RewardAuc from "./RewardAuc.ts"
import type { AgentAction } from "./Sample.ts"

/**
 * An agent action with its step reward (reflection): what the implicit and inverse reward stages emit
 * and PPO consumes. `expertReward` is the same reward of the expert's action at the same state, kept for
 * metrics and reports (where the reward judged the agent right or wrong).
 */
export interface Rewarded extends AgentAction {
  readonly reward: number
  readonly expertReward: number
  // the reference's per-token log-probs of `tokens` at the state, when the reward stage scored them (the implicit
  // reward's π_ref): PPO's KL penalty takes them instead of scoring the reference again
  readonly refLogp?: Float32Array | undefined
}

/** The step rewards of a batch's agent actions and of the expert's actions at the same states: (N,) each. */
export interface Rewards {
  readonly expert: Float32Array
  readonly agent: Float32Array
}

/** A batch's actions with their rewards (same order), and the reference's per-token log-probs of each when given. */
export const attach = (actions: ReadonlyArray<AgentAction>, r: Rewards, refLogp?: ReadonlyArray<Float32Array>): Array<Rewarded> =>
  actions.map((a, i) => ({ ...a, reward: r.agent[i]!, expertReward: r.expert[i]!, ...(refLogp === undefined ? {} : { refLogp: refLogp[i]! }) }))

const mean = (x: Float32Array): number => x.reduce((a, b) => a + b, 0) / Math.max(1, x.length)

/**
 * The reward statistics of a batch, both reward stages': `reward/step_mean` (the agent's), `reward/expert_mean`,
 * `reward/expert_above_agent` (how often the expert's action is rewarded above the agent's) and `reward/auc` of the
 * held-out rewards (before the reward model trained on the pair) over the pairs counted by `differ` (the inverse
 * stage scores held out only the pairs that differ, and counts all of them; the implicit stage takes π_φ's from its
 * updates' forward passes and counts the differing pairs an update took).
 */
export const metrics = (r: Rewards, heldOut: Rewards, differ: ReadonlyArray<boolean>): Record<string, number> => {
  const above = r.expert.reduce((n, e, i) => n + (e > r.agent[i]! ? 1 : 0), 0)
  return {
    "reward/step_mean": mean(r.agent),
    "reward/expert_mean": mean(r.expert),
    "reward/expert_above_agent": above / Math.max(1, r.agent.length),
    ...RewardAuc.metrics(RewardAuc.auc(heldOut.expert, heldOut.agent, differ))
  }
}
