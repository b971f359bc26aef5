import type { AgentAction } from "./Sample.ts"

/**
 * An agent action with its step reward (reflection): what the implicit and inverse reward stages emit
 * and PPO consumes. `expertReward` is the same reward of the expert's action at the same state, kept for
 * metrics and reports (where the reward judged the agent right or wrong).
 */
export interface Rewarded extends AgentAction {
  readonly reward: number
  readonly expertReward: number
}
