/**
 * Conversation records (ETO/IPR, AgentGym) <-> Trajectory: the logic both formats share.
 *
 * A conversation is a list of turns `{from: "human" | "gpt", value}` (AgentGym adds `loss`):
 *
 *   turn 0  human  the task prompt                 -> Trajectory.instruction
 *   turn 1  gpt    the acknowledgement ("OK")      -> Trajectory.ack (not a step)
 *   turn 2  human  first observation               -> steps[0].observation
 *   turn 3  gpt    `Thought: ...\nAction: ...`     -> steps[0].thought / action (/ raw, see Step.parseAssistantTurn)
 *   ...            human and gpt alternate, one step per (human, gpt) pair
 *   last   human  an observation after the last action (optional) -> Trajectory.finalObservation
 *
 * Turns are numbered from 0, as indices into `conversations` (reasons say "turn 3"). Decoding never
 * throws: it gives the trajectory or a one-line reason. Encoding gives back the same turns, so an
 * import then an export of a valid record gives the same conversation, turn for turn.
 */
import { Result } from "effect"
import * as Step from "../domain/Step.ts"
import type { Trajectory } from "../domain/Trajectory.ts"

export type Role = "human" | "gpt"

/** One turn. `loss` is AgentGym's flag: whether the turn is trained on (null: no opinion). */
export interface Turn {
  readonly from: Role
  readonly value: string
  readonly loss?: boolean | null
}

/** A JSON value's kind, for reasons ("got array"). */
export const kindOf = (u: unknown): string =>
  u === null ? "null" : Array.isArray(u) ? "array" : typeof u

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const has = (o: Record<string, unknown>, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key)

/** At least prompt, acknowledgement, one observation and one action. */
export const minTurns = 4

/** Checks the shape of `conversations` and of every turn; `loss` is read when `withLoss`. */
export const parseTurns = (value: unknown, withLoss: boolean): Result.Result<Array<Turn>, string> => {
  if (!Array.isArray(value)) return Result.fail(`conversations must be an array, got ${kindOf(value)}`)
  const turns: Array<Turn> = []
  for (let i = 0; i < value.length; i++) {
    const t: unknown = value[i]
    if (!isObject(t)) return Result.fail(`turn ${i}: expected an object, got ${kindOf(t)}`)
    if (!has(t, "from")) return Result.fail(`turn ${i}: missing field from`)
    const from = t.from
    if (typeof from !== "string") return Result.fail(`turn ${i}: from must be a string, got ${kindOf(from)}`)
    if (from !== "human" && from !== "gpt") return Result.fail(`turn ${i}: from must be "human" or "gpt", got ${JSON.stringify(from).slice(0, 40)}`)
    if (!has(t, "value")) return Result.fail(`turn ${i}: missing field value`)
    const text = t.value
    if (typeof text !== "string") return Result.fail(`turn ${i}: value must be a string, got ${kindOf(text)}`)
    // A lone surrogate (`"\ud800"` in the JSON) has no UTF-8 form: stored, it would silently become U+FFFD.
    if (!text.isWellFormed()) return Result.fail(`turn ${i}: value is not well-formed Unicode (a lone surrogate)`)
    if (withLoss && has(t, "loss")) {
      const loss = t.loss
      if (loss !== null && typeof loss !== "boolean") return Result.fail(`turn ${i}: loss must be a boolean or null, got ${kindOf(loss)}`)
      turns.push({ from, value: text, loss })
    } else {
      turns.push({ from, value: text })
    }
  }
  return Result.succeed(turns)
}

/** The role turn `i` must have: human at even indices, gpt at odd ones. */
export const expectedRole = (i: number): Role => (i % 2 === 0 ? "human" : "gpt")

/** What a record gives besides its turns. */
export interface Meta {
  readonly id: string
  /** The task; the id when absent (ETO's and AgentGym's ids name the task). */
  readonly taskId?: string | undefined
  readonly env: string
  readonly reward: number
  readonly success: boolean
  readonly source: string
}

/**
 * How reasons name a conversation's parts: ETO and AgentGym say `turn 3: expected from gpt, got human`,
 * the chat format (src/data/ChatFormat.ts) says `message 3: expected role assistant, got user`.
 */
export interface Wording {
  /** What one element of the list is called: `turn` or `message`. */
  readonly turn: string
  /** The field that holds the list: `conversations` or `messages`. */
  readonly container: string
  /** The field that holds a turn's role: `from` or `role`. */
  readonly roleField: string
  readonly roleName: (role: Role) => string
}

/** ETO's and AgentGym's words: `turn`, `conversations`, `from`, `human` / `gpt`. */
export const conversationWording: Wording = { turn: "turn", container: "conversations", roleField: "from", roleName: (role) => role }

/**
 * Checks that `turns[from..]` alternate human, gpt, human, ... (the turns before `from` are not looked
 * at); the reason names the index in the whole list.
 */
export const checkAlternation = (turns: ReadonlyArray<Turn>, from: number, wording: Wording = conversationWording): string | undefined => {
  for (let i = from; i < turns.length; i++) {
    const want = expectedRole(i - from)
    const got = turns[i]!.from
    if (got !== want) return `${wording.turn} ${i}: expected ${wording.roleField} ${wording.roleName(want)}, got ${wording.roleName(got)}`
  }
  return undefined
}

/** The steps of a conversation and what follows its last action. */
export interface Steps {
  readonly steps: Array<Step.Step>
  readonly finalObservation?: string
}

/**
 * The steps of `turns[from..]`, which `checkAlternation` passed: one per (human, gpt) pair, each
 * assistant turn split by `Step.parseAssistantTurn`; a trailing human turn is the final observation.
 * An empty action is rejected, with its index in the whole list.
 */
export const stepsFrom = (turns: ReadonlyArray<Turn>, from: number, wording: Wording = conversationWording): Result.Result<Steps, string> => {
  const steps: Array<Step.Step> = []
  let i = from
  for (; i + 1 < turns.length; i += 2) {
    const parsed = Step.parseAssistantTurn(turns[i + 1]!.value)
    if (parsed.action === "") return Result.fail(`empty action at ${wording.turn} ${i + 1}`)
    steps.push({ observation: turns[i]!.value, ...parsed })
  }
  return Result.succeed(i < turns.length ? { steps, finalObservation: turns[i]!.value } : { steps })
}

/**
 * Builds the trajectory of a conversation whose turns passed `parseTurns` (turn 0 the prompt, turn 1
 * the acknowledgement, then steps). `wording` names things in the reasons.
 */
export const toTrajectory = (turns: ReadonlyArray<Turn>, meta: Meta, wording: Wording = conversationWording): Result.Result<Trajectory, string> => {
  if (turns.length === 0) return Result.fail(`${wording.container} is empty`)
  const order = checkAlternation(turns, 0, wording)
  if (order !== undefined) return Result.fail(order)
  if (turns.length < minTurns) {
    return Result.fail(
      `conversation has ${turns.length} ${wording.turn}${turns.length === 1 ? "" : "s"}; needs at least ${minTurns} (prompt, acknowledgement, observation, action)`
    )
  }
  const built = stepsFrom(turns, 2, wording)
  if (Result.isFailure(built)) return Result.fail(built.failure)
  const { steps, finalObservation } = built.success
  const withLoss = turns.some((t) => t.loss !== undefined)
  return Result.succeed({
    id: meta.id,
    env: meta.env,
    taskId: meta.taskId ?? meta.id,
    instruction: turns[0]!.value,
    ack: turns[1]!.value,
    steps,
    ...(finalObservation === undefined ? {} : { finalObservation }),
    reward: meta.reward,
    success: meta.success,
    source: meta.source,
    ...(withLoss ? { turnLoss: turns.map((t) => t.loss ?? null) } : {})
  })
}

/**
 * Whether the acknowledgement turn (turn 1) is really an action: a conversation that lacks the
 * prompt + acknowledgement pair starts with the first observation and action, so its first action
 * would be read as the acknowledgement and its steps shifted by one. An `Action:` line is the tell
 * (ETO's and AgentGym's assistant turns carry one); bare actions without it cannot be told apart.
 */
export const ackLooksLikeAction = (ack: string): boolean => /(^|\n)[ \t]*Action:/.test(ack)

/** AgentGym's convention when a trajectory has no flags: prompt and observations null, acknowledgement false, actions true. */
export const defaultLoss = (i: number): boolean | null => (i % 2 === 0 ? null : i > 1)

/**
 * The turns of a trajectory. `ack` stands in when the trajectory has none (built-in environments).
 * With `withLoss`, every turn gets a `loss`: the trajectory's own flags when it has one per turn,
 * else `defaultLoss`.
 */
export const toTurns = (t: Trajectory, defaultAck: string, withLoss: boolean): Array<Turn> => {
  const roles: Array<[Role, string]> = [["human", t.instruction], ["gpt", t.ack ?? defaultAck]]
  for (const s of t.steps) roles.push(["human", s.observation], ["gpt", Step.renderAction(s)])
  if (t.finalObservation !== undefined) roles.push(["human", t.finalObservation])
  if (!withLoss) return roles.map(([from, value]) => ({ from, value }))
  const flags = t.turnLoss !== undefined && t.turnLoss.length === roles.length ? t.turnLoss : undefined
  // `loss` sits between `from` and `value`, as AgentGym writes it.
  return roles.map(([from, value], i) => ({ from, loss: flags === undefined ? defaultLoss(i) : flags[i]!, value }))
}

/** The fields both formats read the same way. */
export interface RecordSpec {
  /** The id field: `id` (ETO/IPR) or `item_id` (AgentGym). */
  readonly idField: string
  /** The other format's id field, named in the reason when the record has it instead. */
  readonly otherIdField: string
  readonly otherFormat: string
  readonly withLoss: boolean
  readonly source: string
}

/**
 * Decodes one record. The id is kept as id and taskId (a number id becomes its decimal text); a
 * missing reward is 0; success is the record's own boolean `success` when it has one, else reward >= 1.
 */
export const decodeRecord = (value: unknown, env: string, spec: RecordSpec): Result.Result<Trajectory, string> => {
  if (!isObject(value)) return Result.fail(`record must be an object, got ${kindOf(value)}`)
  if (!has(value, spec.idField)) {
    return Result.fail(
      has(value, spec.otherIdField)
        ? `missing field ${spec.idField} (the record has ${spec.otherIdField}: is it --format ${spec.otherFormat}?)`
        : `missing field ${spec.idField}`
    )
  }
  const rawId = value[spec.idField]
  let id: string
  if (typeof rawId === "string") id = rawId
  else if (typeof rawId === "number" && Number.isFinite(rawId)) id = String(rawId)
  else return Result.fail(`${spec.idField} must be a string or a number, got ${kindOf(rawId)}`)
  if (id === "") return Result.fail(`${spec.idField} is empty`)
  if (!id.isWellFormed()) return Result.fail(`${spec.idField} is not well-formed Unicode (a lone surrogate)`)
  let reward = 0 // absent reward: 0 (demonstration sets such as ETO's SFT data carry none)
  if (has(value, "reward")) {
    const r = value.reward
    if (typeof r !== "number") return Result.fail(`reward must be a number, got ${kindOf(r)}`)
    // JSON.parse reads 1e400 as Infinity: no real reward, and it would not survive an export.
    if (!Number.isFinite(r)) return Result.fail(`reward must be a finite number, got ${r} (a number too large for a double?)`)
    reward = r
  }
  let success = reward >= 1
  if (has(value, "success")) {
    const s = value.success
    if (typeof s !== "boolean") return Result.fail(`success must be a boolean, got ${kindOf(s)}`)
    success = s
  }
  if (!has(value, "conversations")) {
    return Result.fail(has(value, "messages") ? "missing field conversations (the record has messages: is it --format chat?)" : "missing field conversations")
  }
  const turns = parseTurns(value.conversations, spec.withLoss)
  if (Result.isFailure(turns)) return Result.fail(turns.failure)
  return toTrajectory(turns.success, { id, env, reward, success, source: spec.source })
}
