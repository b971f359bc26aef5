import { Result } from "effect"
import * as ChatFormat from "../data/ChatFormat.ts"
import * as Render from "../data/Render.ts"
import { EOA, type Tokenizer } from "../data/Tokenizer.ts"
import * as Tokenized from "../domain/Tokenized.ts"
import * as Context from "../model/Context.ts"
import * as ApiError from "./ApiError.ts"

/**
 * A chat request's messages -> the state the policy acts from, built by the functions training and evaluation
 * use, so that a harness talking to the server gets the policy it trained:
 * 1. the messages are read by the chat importer's rules (`ChatFormat.parseMessage`, `ChatFormat.toTrajectory`,
 *    docs/conversation-formats.md): the system message is the instruction; user/assistant pairs are steps
 *    (observation, action); without a system message the first user message is the instruction and the first
 *    assistant one the acknowledgement (ETO's and AgentGym's shape). The last message must be a user message:
 *    the observation to act on. It becomes the last step, with a placeholder action that is never rendered;
 * 2. the checkpoint's `render.instruction` applies as in training (`drop`: the instruction is left out);
 * 3. the trajectory is rendered by `Render.render` and the state cut by `Context.state` (the same template and
 *    the same truncation as every SFT, scoring, sampling and evaluation state).
 *
 * Token-exact turns: an assistant message may carry `token_ids`, the ids the server returned for it
 * (`choices[i].token_ids`); they are rendered as they are (`Render.render`'s `actions`), as evaluation's
 * rollouts keep the ids the policy sampled. Without them the turn's text is encoded, as training encodes an
 * expert's turn; the policy's own text need not encode back to the ids it sampled (docs/serve.md).
 */
export interface Message {
  readonly message: ChatFormat.ChatMessage
  /** The ids of an assistant turn as the policy sampled them (`<|eoa|>` included when it stopped). */
  readonly tokenIds?: Int32Array
}

export interface Prompt {
  /** The conversation rendered; its last step's observation is the last user message, its action a placeholder. */
  readonly trajectory: Tokenized.TokenizedTrajectory
  readonly step: number
  /** `Context.state(trajectory, step, contextLength)`: what the policy conditions on. */
  readonly state: Context.State
}

/** An assistant turn that carries ids is rendered from them: its text only has to be a prefix of what they decode to. */
const idsText = "-"

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const quote = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s)

/** Message `i`'s `token_ids`: absent (or null), or a non-empty list of ids of the vocabulary. */
const tokenIdsOf = (m: Record<string, unknown>, i: number, vocabSize: number): Result.Result<Int32Array | undefined, ApiError.ApiError> => {
  const v = m["token_ids"]
  if (v === undefined || v === null) return Result.succeed(undefined)
  const param = `messages[${i}].token_ids`
  if (!Array.isArray(v) || v.length === 0) return Result.fail(ApiError.invalid(`message ${i}: token_ids must be a non-empty array of token ids`, param))
  const ids = new Int32Array(v.length)
  for (let k = 0; k < v.length; k++) {
    const id: unknown = v[k]
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= vocabSize) {
      return Result.fail(ApiError.invalid(`message ${i}: token_ids[${k}] must be an integer id below the vocabulary size ${vocabSize}`, param))
    }
    ids[k] = id
  }
  return Result.succeed(ids)
}

/**
 * Checks every message (the chat importer's reader, plus `token_ids` on assistant messages, whose ids must decode to
 * text that begins with the message's content: ids left over from another turn are refused, not rendered).
 */
export const parseMessages = (raw: ReadonlyArray<unknown>, tokenizer: Tokenizer): Result.Result<Array<Message>, ApiError.ApiError> => {
  const out: Array<Message> = []
  for (let i = 0; i < raw.length; i++) {
    const m = raw[i]
    const ids = isObject(m) ? tokenIdsOf(m, i, tokenizer.vocabSize) : Result.succeed(undefined)
    if (Result.isFailure(ids)) return Result.fail(ids.failure)
    // a turn rendered from its ids may have any text the policy wrote, an empty one included
    const withIds = ids.success !== undefined && isObject(m) && m["content"] === "" ? { ...m, content: idsText } : m
    const parsed = ChatFormat.parseMessage(withIds, i)
    if (Result.isFailure(parsed)) return Result.fail(ApiError.invalid(parsed.failure, `messages[${i}]`))
    if (ids.success === undefined) {
      out.push({ message: parsed.success })
      continue
    }
    if (parsed.success.role !== "assistant") {
      return Result.fail(ApiError.invalid(`message ${i}: token_ids on a ${parsed.success.role} message (only the policy's own turns have ids)`, `messages[${i}].token_ids`))
    }
    const content = withIds === m ? parsed.success.content : ""
    const decoded = tokenizer.decode(ids.success)
    if (!decoded.startsWith(content)) {
      return Result.fail(ApiError.invalid(`message ${i}: token_ids decode to ${quote(decoded)}, which does not begin with the message's content ${quote(content)}`, `messages[${i}].token_ids`))
    }
    out.push({ message: { role: "assistant", content: idsText }, tokenIds: ids.success })
  }
  return Result.succeed(out)
}

/**
 * The state to act from at the end of the conversation (see the module comment). `instruction` is the checkpoint's
 * `render.instruction`. Fails with the reason, naming the message at fault.
 */
export const build = (
  tokenizer: Tokenizer,
  contextLength: number,
  instruction: "keep" | "drop",
  messages: ReadonlyArray<Message>
): Result.Result<Prompt, ApiError.ApiError> => {
  const bad = (message: string) => Result.fail(ApiError.invalid(message, "messages"))
  if (messages.length === 0) return bad("messages is empty")
  const last = messages[messages.length - 1]!.message.role
  if (last !== "user") return bad(`the last message must be a user message (the observation to act on), got ${last}`)
  const withSystem = messages[0]!.message.role === "system"
  // the fewest messages that end on an observation: system prompt and observation; or ETO's prompt, acknowledgement, observation
  if (!withSystem && messages.length < 3) {
    return bad(`a conversation without a system message needs at least 3 messages (the task prompt, an assistant acknowledgement, the first observation), got ${messages.length}`)
  }
  // the action to sample is the last step's: a placeholder stands in for it, rendered as <|eoa|> after the state
  const chat = [...messages.map((m) => m.message), { role: "assistant" as const, content: idsText }]
  const t = ChatFormat.toTrajectory(chat, { id: "chat", env: "chat", reward: 0, success: false, source: ChatFormat.source })
  if (Result.isFailure(t)) return bad(t.failure)
  const trajectory = instruction === "drop" ? { ...t.success, instruction: "" } : t.success
  // the assistant message of step k: after the system message at 2 + 2k; after prompt and acknowledgement at 3 + 2k
  const first = withSystem ? 2 : 3
  const actions = trajectory.steps.map((_, k) => k === trajectory.steps.length - 1 ? Int32Array.of(EOA) : messages[first + 2 * k]!.tokenIds)
  const rendered = Render.render(tokenizer, trajectory, actions)
  const step = Tokenized.stepCount(rendered) - 1
  return Result.succeed({ trajectory: rendered, step, state: Context.state(rendered, step, contextLength) })
}

/** The state's tokens as one buffer (the response's `prompt_token_ids`). */
export const tokens = (p: Prompt): Int32Array => {
  const out = new Int32Array(p.state.length)
  let o = 0
  for (const part of p.state.parts) {
    out.set(part, o)
    o += part.length
  }
  return out
}
