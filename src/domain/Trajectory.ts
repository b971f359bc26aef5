import { Schema } from "effect"
import { Step } from "./Step.ts"

/**
 * An expert (or agent) trajectory: an instruction, then alternating observation/action steps.
 *
 * - `instruction`: the task prompt shown before the first observation (the first human turn of
 *   ETO/IPR/AgentGym conversations; for built-in environments, the environment's prompt).
 * - `ack`: the assistant's acknowledgement of the prompt ("OK", "Ok."), kept for lossless export.
 * - `finalObservation`: an observation after the last action, when the conversation ends with one.
 * - `turnLoss`: AgentGym's per-turn `loss` flags, kept only when the source had them.
 * - `source`: where the record came from (`eto`, `agentgym`, `generated:<env>`, `rollout`).
 */
export const Trajectory = Schema.Struct({
  id: Schema.String,
  env: Schema.String,
  taskId: Schema.String,
  instruction: Schema.String,
  ack: Schema.optionalKey(Schema.String),
  steps: Schema.Array(Step),
  finalObservation: Schema.optionalKey(Schema.String),
  reward: Schema.Number,
  success: Schema.Boolean,
  source: Schema.String,
  turnLoss: Schema.optionalKey(Schema.Array(Schema.NullOr(Schema.Boolean)))
})
export type Trajectory = typeof Trajectory.Type
