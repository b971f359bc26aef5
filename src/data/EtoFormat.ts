/**
 * ETO / IPR conversation records: `{id, conversations: [{from: "human" | "gpt", value}], reward?}`.
 * The mapping to Trajectory is Conversation's; this file fixes the field names and what export writes.
 */
import type { Result } from "effect"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as Conversation from "./Conversation.ts"

export const source = "eto"

// ETO's own acknowledgement, used when a trajectory has none (one from a built-in environment).
export const defaultAck = "OK"

const spec: Conversation.RecordSpec = { idField: "id", otherIdField: "item_id", otherFormat: "agentgym", withLoss: false, source }

export interface EtoTurn {
  readonly from: Conversation.Role
  readonly value: string
}

export interface EtoRecord {
  readonly id: string
  readonly conversations: ReadonlyArray<EtoTurn>
  readonly reward: number
}

/** Decodes one ETO/IPR record (a parsed JSON value) into a trajectory of environment `env`, or a reason. */
export const decode = (value: unknown, env: string): Result.Result<Trajectory, string> => Conversation.decodeRecord(value, env, spec)

/** The ETO/IPR record of a trajectory (AgentGym's `loss` flags are not part of this format). */
export const encode = (t: Trajectory): EtoRecord => ({
  id: t.id,
  conversations: Conversation.toTurns(t, defaultAck, false).map((turn) => ({ from: turn.from, value: turn.value })),
  reward: t.reward
})
