/**
 * AgentGym conversation records: `{item_id, conversations: [{from, loss, value}], reward?, success?}`.
 * The mapping to Trajectory is Conversation's; the per-turn `loss` flags go to Trajectory.turnLoss and
 * come back on export.
 */
import type { Result } from "effect"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as Conversation from "./Conversation.ts"

export const source = "agentgym"

// AgentGym's own acknowledgement, used when a trajectory has none (one from a built-in environment).
export const defaultAck = "Ok."

const spec: Conversation.RecordSpec = { idField: "item_id", otherIdField: "id", otherFormat: "eto", withLoss: true, source }

export interface AgentGymTurn {
  readonly from: Conversation.Role
  readonly loss: boolean | null
  readonly value: string
}

export interface AgentGymRecord {
  readonly item_id: string
  readonly conversations: ReadonlyArray<AgentGymTurn>
  readonly reward: number
  readonly success: boolean
}

/** Decodes one AgentGym record (a parsed JSON value) into a trajectory of environment `env`, or a reason. */
export const decode = (value: unknown, env: string): Result.Result<Trajectory, string> => Conversation.decodeRecord(value, env, spec)

/** The AgentGym record of a trajectory; every turn has `loss` (see Conversation.toTurns). */
export const encode = (t: Trajectory): AgentGymRecord => ({
  item_id: t.id,
  conversations: Conversation.toTurns(t, defaultAck, true).map((turn) => ({ from: turn.from, loss: turn.loss ?? null, value: turn.value })),
  reward: t.reward,
  success: t.success
})
