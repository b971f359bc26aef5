import { Schema } from "effect"
import { Step } from "./Step.ts"

/**
 * An expert (or agent) trajectory: an instruction, then alternating observation/action steps.
 *
 * - `instruction`: the task prompt shown before the first observation (the first human turn of
 *   ETO/IPR/AgentGym conversations, the system message of chat records; for built-in environments, the
 *   environment's prompt).
 * - `ack`: the assistant's acknowledgement of the prompt ("OK", "Ok."), kept for lossless export; a chat
 *   record has one only when it has no system message (how export tells the two shapes apart).
 * - `finalObservation`: an observation after the last action, when the conversation ends with one.
 * - `turnLoss`: per-turn `loss` flags (AgentGym's, OpenAI's `weight` on chat messages; and the deliberate mistakes
 *   of expert data with recoveries), one per conversation turn (instruction, ack, then observation and action per
 *   step, then the final observation; the ack's slot is there even without an ack), kept only when the source had them. An action whose flag is `false` is context, never a target (`actionTrained`).
 * - `source`: where the record came from (`eto`, `agentgym`, `chat`, `generated:<env>`, `rollout`).
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

/**
 * Whether step i's action is a target of imitation: false only when the trajectory's `turnLoss` flags (one per turn,
 * so the action of step i is turn 3 + 2i) mark it `false`; flags of the wrong length are ignored, as on export.
 */
export const actionTrained = (t: Trajectory, i: number): boolean => {
  const flags = t.turnLoss
  const turns = 2 + 2 * t.steps.length + (t.finalObservation === undefined ? 0 : 1)
  return flags === undefined || flags.length !== turns || flags[3 + 2 * i] !== false
}
