/**
 * Chat records: OpenAI-style messages, as many agent datasets on the Hugging Face hub hold them (TRL's
 * conversational format), `{messages: [{role: "system" | "user" | "assistant", content}], id?, reward?,
 * success?, env?, task_id?}`. The rules, each with its reason, are in docs/conversation-formats.md.
 *
 * Reading is lenient where real files differ harmlessly and strict where something would be lost:
 * - a message may say `from` for `role` and `value` for `content` (ShareGPT's names; ETO's own
 *   alfworld_icl.json mixes both in one conversation); either key takes `system`, `user` / `human`,
 *   `assistant` / `gpt`;
 * - a record may be a bare array of messages;
 * - a key whose value is null counts as absent (Arrow-backed datasets give every message every key);
 * - tool messages and tool calls, content that is not a non-empty string, a second or a late system
 *   message, turns that do not alternate: the record is rejected with the reason, never cut or reordered.
 *
 * The two shapes, and how export tells them apart (source `chat` and whether `ack` is set):
 *
 *   with a system message:    system -> instruction; then user/assistant pairs are steps; no ack
 *   without one:              as ETO/AgentGym (Conversation.ts): user -> instruction, assistant -> ack, then steps
 *
 * A trailing user message is the final observation. OpenAI's `weight` (0 or 1, on assistant messages:
 * whether the message is trained on) is read into Trajectory.turnLoss and written back from it.
 */
import { Result } from "effect"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as Conversation from "./Conversation.ts"

export const source = "chat"

export type ChatRole = "system" | "user" | "assistant"

export interface ChatMessage {
  readonly role: ChatRole
  readonly content: string
  /** OpenAI's flag on an assistant message: 1 trained on, 0 context only. */
  readonly weight?: 0 | 1
}

/** The record export writes (every key, always). */
export interface ChatRecord {
  readonly id: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly reward: number
  readonly success: boolean
  readonly env: string
  readonly task_id: string
}

/** The names a role may go by, under `role` or `from`. A Map, so that `__proto__` or `constructor` names nothing. */
const roleNames: ReadonlyMap<string, ChatRole> = new Map([
  ["system", "system"],
  ["user", "user"],
  ["human", "user"],
  ["assistant", "assistant"],
  ["gpt", "assistant"]
])

/** The chat format's words in reasons: `message 3: expected role assistant, got user`. */
export const wording: Conversation.Wording = {
  turn: "message",
  container: "messages",
  roleField: "role",
  roleName: (role) => (role === "human" ? "user" : "assistant")
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const has = (o: Record<string, unknown>, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key)

/** Whether `o` has `key` with a value other than null (null counts as absent). */
const given = (o: Record<string, unknown>, key: string): boolean => has(o, key) && o[key] !== null

const quote = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s)

/** The role under `key` (`role` or `from`): undefined when not given, else the role or a reason. */
const roleAt = (m: Record<string, unknown>, at: string, key: string): Result.Result<ChatRole | undefined, string> => {
  if (!given(m, key)) return Result.succeed(undefined)
  const name = m[key]
  if (typeof name !== "string") return Result.fail(`${at}: ${key} must be a string, got ${Conversation.kindOf(name)}`)
  const role = roleNames.get(name)
  if (role === undefined) {
    return Result.fail(`${at}: ${key} ${quote(name)} is not supported (only system, user and assistant; human and gpt for user and assistant)`)
  }
  return Result.succeed(role)
}

/** A message's role, from `role` or `from`; when both are given they must name the same role. */
const roleOf = (m: Record<string, unknown>, at: string): Result.Result<ChatRole, string> => {
  const byRole = roleAt(m, at, "role")
  if (Result.isFailure(byRole)) return Result.fail(byRole.failure)
  const byFrom = roleAt(m, at, "from")
  if (Result.isFailure(byFrom)) return Result.fail(byFrom.failure)
  const role = byRole.success ?? byFrom.success
  if (role === undefined) return Result.fail(has(m, "role") || has(m, "from") ? `${at}: role is null` : `${at}: missing field role (or from)`)
  if (byRole.success !== undefined && byFrom.success !== undefined && byRole.success !== byFrom.success) {
    return Result.fail(`${at}: role ${quote(String(m.role))} and from ${quote(String(m.from))} disagree`)
  }
  return Result.succeed(role)
}

/** A tool call: `tool_calls` or `function_call` holding something (null and `[]` are no call). */
const callKey = (m: Record<string, unknown>): string | undefined =>
  ["tool_calls", "function_call"].find((key) => given(m, key) && !(Array.isArray(m[key]) && m[key].length === 0))

/** A message's content, from `content` or `value`; when both are given they must be equal. */
const contentOf = (m: Record<string, unknown>, at: string): Result.Result<string, string> => {
  const key = !given(m, "content") && given(m, "value") ? "value" : "content"
  if (!given(m, key)) return Result.fail(has(m, "content") || has(m, "value") ? `${at}: content is null` : `${at}: missing field content (or value)`)
  const content = m[key]
  if (key === "content" && given(m, "value") && m.value !== content) {
    return Result.fail(`${at}: content and value disagree (a message holds one text)`)
  }
  if (typeof content !== "string") {
    const parts = Array.isArray(content) ? " (a list of content parts is not supported)" : ""
    return Result.fail(`${at}: ${key} must be a string, got ${Conversation.kindOf(content)}${parts}`)
  }
  if (content === "") return Result.fail(`${at}: ${key} is empty`)
  // A lone surrogate (`"\ud800"` in the JSON) has no UTF-8 form: stored, it would silently become U+FFFD.
  if (!content.isWellFormed()) return Result.fail(`${at}: ${key} is not well-formed Unicode (a lone surrogate)`)
  return Result.succeed(content)
}

/** One message, checked: its role, that it is no tool call, its content, its weight. */
export const parseMessage = (m: unknown, i: number): Result.Result<ChatMessage, string> => {
  const at = `message ${i}`
  if (!isObject(m)) return Result.fail(`${at}: expected an object, got ${Conversation.kindOf(m)}`)
  const role = roleOf(m, at)
  if (Result.isFailure(role)) return Result.fail(role.failure)
  // A tool call carries no text to train on, and dropping it would change the conversation.
  const call = callKey(m)
  if (call !== undefined) return Result.fail(`${at}: a tool call (${call}): tool-calling conversations are not supported`)
  const content = contentOf(m, at)
  if (Result.isFailure(content)) return Result.fail(content.failure)
  if (!given(m, "weight")) return Result.succeed({ role: role.success, content: content.success })
  const weight = m.weight
  if (weight !== 0 && weight !== 1) {
    return Result.fail(`${at}: weight must be 0 or 1, got ${typeof weight === "number" ? String(weight) : Conversation.kindOf(weight)}`)
  }
  if (role.success !== "assistant") return Result.fail(`${at}: weight on a ${role.success} message (OpenAI's weight flags assistant messages only)`)
  return Result.succeed({ role: role.success, content: content.success, weight })
}

/** Every message of a record, checked. */
export const parseMessages = (value: unknown): Result.Result<Array<ChatMessage>, string> => {
  if (!Array.isArray(value)) return Result.fail(`messages must be an array, got ${Conversation.kindOf(value)}`)
  const out: Array<ChatMessage> = []
  for (let i = 0; i < value.length; i++) {
    const m = parseMessage(value[i], i)
    if (Result.isFailure(m)) return Result.fail(m.failure)
    out.push(m.success)
  }
  return Result.succeed(out)
}

/** At least the system prompt, one observation and one action. */
export const minMessagesWithSystem = 3

/** Builds the trajectory of checked messages (see the module comment for the two shapes). */
export const toTrajectory = (messages: ReadonlyArray<ChatMessage>, meta: Conversation.Meta): Result.Result<Trajectory, string> => {
  if (messages.length === 0) return Result.fail("messages is empty")
  const withSystem = messages[0]!.role === "system"
  for (let i = 1; i < messages.length; i++) {
    if (messages[i]!.role !== "system") continue
    return Result.fail(
      withSystem
        ? `message ${i}: a second system message (one system message, the first, is read)`
        : `message ${i}: a system message after the conversation started (one system message, the first, is read)`
    )
  }
  // As Conversation's turns: user as human, assistant as gpt; the system message (index 0) is not looked at as a turn.
  const turns: Array<Conversation.Turn> = messages.map((m) => ({
    from: m.role === "assistant" ? "gpt" : "human",
    value: m.content,
    ...(m.weight === undefined ? {} : { loss: m.weight === 1 })
  }))
  if (!withSystem) return Conversation.toTrajectory(turns, meta, wording)
  const order = Conversation.checkAlternation(turns, 1, wording)
  if (order !== undefined) return Result.fail(order)
  if (messages.length < minMessagesWithSystem) {
    return Result.fail(
      `conversation has ${messages.length} message${messages.length === 1 ? "" : "s"}; needs at least ${minMessagesWithSystem} with a system message (system prompt, observation, action)`
    )
  }
  const built = Conversation.stepsFrom(turns, 1, wording)
  if (Result.isFailure(built)) return Result.fail(built.failure)
  const { steps, finalObservation } = built.success
  const withLoss = turns.some((t) => t.loss !== undefined)
  return Result.succeed({
    id: meta.id,
    env: meta.env,
    taskId: meta.taskId ?? meta.id,
    instruction: messages[0]!.content,
    steps,
    ...(finalObservation === undefined ? {} : { finalObservation }),
    reward: meta.reward,
    success: meta.success,
    source,
    // One flag per Trajectory turn: the instruction and the acknowledgement this shape has not, then the messages after the system one.
    ...(withLoss ? { turnLoss: [null, null, ...turns.slice(1).map((t) => t.loss ?? null)] } : {})
  })
}

/** A text field of the record: absent (or null), or a non-empty string (a number id becomes its decimal text). */
const textField = (o: Record<string, unknown>, key: string, numberToo: boolean): Result.Result<string | undefined, string> => {
  if (!given(o, key)) return Result.succeed(undefined)
  const v = o[key]
  let s: string
  if (typeof v === "string") s = v
  else if (numberToo && typeof v === "number" && Number.isFinite(v)) s = String(v)
  else return Result.fail(`${key} must be a string${numberToo ? " or a number" : ""}, got ${Conversation.kindOf(v)}`)
  if (s === "") return Result.fail(`${key} is empty`)
  if (!s.isWellFormed()) return Result.fail(`${key} is not well-formed Unicode (a lone surrogate)`)
  return Result.succeed(s)
}

/** What the record says besides its messages, defaults filled in (see `decode`). */
const metaOf = (o: Record<string, unknown>, env: string, index: number): Result.Result<Conversation.Meta, string> => {
  const id = textField(o, "id", true)
  if (Result.isFailure(id)) return Result.fail(id.failure)
  const taskId = textField(o, "task_id", true)
  if (Result.isFailure(taskId)) return Result.fail(taskId.failure)
  const ownEnv = textField(o, "env", false)
  if (Result.isFailure(ownEnv)) return Result.fail(ownEnv.failure)
  let reward = 0 // absent reward: 0, as ETO's (demonstrations carry none)
  if (given(o, "reward")) {
    const r = o.reward
    if (typeof r !== "number") return Result.fail(`reward must be a number, got ${Conversation.kindOf(r)}`)
    // JSON.parse reads 1e400 as Infinity: no real reward, and it would not survive an export.
    if (!Number.isFinite(r)) return Result.fail(`reward must be a finite number, got ${r} (a number too large for a double?)`)
    reward = r === 0 ? 0 : r // -0 (Python writes -0.0) as 0, which is what an export writes back
  }
  let success = reward >= 1
  if (given(o, "success")) {
    const s = o.success
    if (typeof s !== "boolean") return Result.fail(`success must be a boolean, got ${Conversation.kindOf(s)}`)
    success = s
  }
  return Result.succeed({
    // No id: the record's position in the file, the index its reject would have; a file's records stay apart.
    id: id.success ?? String(index),
    taskId: taskId.success,
    env: ownEnv.success ?? env,
    reward,
    success,
    source
  })
}

/**
 * Decodes one chat record (a parsed JSON value, the `index`-th of its file) into a trajectory, or a
 * reason. `id` becomes id and taskId (`task_id` the taskId when given; no id: the index as text); the
 * record's `env` wins over `env`; reward 0 when absent; success the record's, else reward >= 1.
 */
export const decode = (value: unknown, env: string, index: number): Result.Result<Trajectory, string> => {
  if (Array.isArray(value)) {
    const messages = parseMessages(value)
    if (Result.isFailure(messages)) return Result.fail(messages.failure)
    return toTrajectory(messages.success, { id: String(index), env, reward: 0, success: false, source })
  }
  if (!isObject(value)) return Result.fail(`record must be an object with messages, or an array of messages, got ${Conversation.kindOf(value)}`)
  const meta = metaOf(value, env, index)
  if (Result.isFailure(meta)) return Result.fail(meta.failure)
  if (!has(value, "messages")) {
    if (has(value, "conversations")) return Result.fail("missing field messages (the record has conversations: is it --format eto or --format agentgym?)")
    // A JSONL file of bare message arrays opens with `[`, so it is taken for a JSON array and its messages for records.
    if (has(value, "role") || has(value, "from")) {
      return Result.fail("missing field messages (the record looks like one message: is the file JSONL of bare message arrays? then give --input-format jsonl)")
    }
    return Result.fail("missing field messages")
  }
  const messages = parseMessages(value.messages)
  if (Result.isFailure(messages)) return Result.fail(messages.failure)
  return toTrajectory(messages.success, meta.success)
}

/**
 * The chat record of a trajectory. A chat trajectory with an acknowledgement (read from a conversation
 * without a system message) is written back that way; any other (a chat one with a system prompt, or
 * one from ETO, AgentGym, a built-in environment) as system = instruction, then user/assistant turns,
 * its acknowledgement left out. `turnLoss` flags of assistant messages become `weight` (null: none);
 * flags of other turns have no place in chat messages.
 */
export const encode = (t: Trajectory): ChatRecord => {
  const turns = Conversation.toTurns(t, "", false)
  const flags = t.turnLoss !== undefined && t.turnLoss.length === turns.length ? t.turnLoss : undefined
  const message = (i: number, role: ChatRole, content: string): ChatMessage => {
    const flag = role === "assistant" && flags !== undefined ? flags[i] : null
    return flag === null || flag === undefined ? { role, content } : { role, content, weight: flag ? 1 : 0 }
  }
  const chatRole = (turn: Conversation.Turn): ChatRole => (turn.from === "gpt" ? "assistant" : "user")
  const messages = t.source === source && t.ack !== undefined
    ? turns.map((turn, i) => message(i, chatRole(turn), turn.value))
    : [message(0, "system", t.instruction), ...turns.slice(2).map((turn, k) => message(k + 2, chatRole(turn), turn.value))]
  return { id: t.id, messages, reward: t.reward, success: t.success, env: t.env, task_id: t.taskId }
}
