import { Schema } from "effect"
import type * as Bpe from "../data/Bpe.ts"
import { BYTE_OFFSET, specialTokens } from "../data/Tokenizer.ts"
import type * as Completions from "./Completions.ts"

/**
 * The answers of the policy server, in OpenAI's shapes with vLLM's token-id extension (`return_token_ids`):
 * `prompt_token_ids` (the state the policy conditioned on, after truncation) and per choice `token_ids` (the ids it
 * sampled, `<|eoa|>` included when it stopped). Send a choice's `token_ids` back on its assistant message to have
 * the turn rendered from them (docs/serve.md). Tests decode the answers with these Schemas.
 */
export const TokenLogprob = Schema.Struct({
  token: Schema.String, // the token's text (a special token by its name, `<|eoa|>`); a piece of a UTF-8 character shows as U+FFFD
  logprob: Schema.Number, // log π(token | state, earlier tokens) at temperature 1
  bytes: Schema.NullOr(Schema.Array(Schema.Int)), // the token's UTF-8 bytes (null for a special token)
  top_logprobs: Schema.Array(Schema.Unknown) // always empty: top log-probs are not supported
})
export type TokenLogprob = typeof TokenLogprob.Type

export const FinishReason = Schema.Literals(["stop", "length"]) // stop: <|eoa|> or a stop sequence; length: max_tokens or the context
export type FinishReason = typeof FinishReason.Type

export const Choice = Schema.Struct({
  index: Schema.Int,
  message: Schema.Struct({ role: Schema.Literal("assistant"), content: Schema.String }),
  finish_reason: FinishReason,
  logprobs: Schema.NullOr(Schema.Struct({ content: Schema.Array(TokenLogprob) })),
  token_ids: Schema.Array(Schema.Int)
})
export type Choice = typeof Choice.Type

export const Usage = Schema.Struct({ prompt_tokens: Schema.Int, completion_tokens: Schema.Int, total_tokens: Schema.Int })

export const ChatCompletion = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("chat.completion"),
  created: Schema.Int, // Unix seconds (the Clock)
  model: Schema.String,
  choices: Schema.Array(Choice),
  usage: Usage,
  prompt_token_ids: Schema.Array(Schema.Int)
})
export type ChatCompletion = typeof ChatCompletion.Type

export const Model = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("model"),
  created: Schema.Int,
  owned_by: Schema.String,
  max_model_len: Schema.Int // vLLM's field: the context length in tokens
})
export const ModelList = Schema.Struct({ object: Schema.Literal("list"), data: Schema.Array(Model) })
export type ModelList = typeof ModelList.Type

/** A completion cut by the stop sequences: its ids and log-probs up to the token that completed the first match. */
export interface Finished {
  readonly tokens: Int32Array
  readonly logp: Float32Array
  readonly text: string
  readonly finish: FinishReason
}

/**
 * Applies OpenAI's `stop` to a sampled completion: the content ends before the first stop sequence it contains
 * (the sequence itself left out), the ids end with the token that completed it, and the finish reason is `stop`.
 * Without a match: the decoded ids, `stop` when the policy ended its action (`<|eoa|>`), else `length`.
 */
export const finish = (tokenizer: Pick<Bpe.Bpe, "decode">, s: Completions.Sampled, stop: ReadonlyArray<string>): Finished => {
  const whole = tokenizer.decode(s.tokens)
  const natural = { tokens: s.tokens, logp: s.logp, text: whole, finish: s.stopped ? "stop" as const : "length" as const }
  if (stop.length === 0 || !stop.some((q) => whole.includes(q))) return natural
  for (let k = 1; k <= s.tokens.length; k++) {
    const text = tokenizer.decode(s.tokens.subarray(0, k))
    const at = stop.reduce((best, q) => {
      const i = text.indexOf(q)
      return i >= 0 && (best < 0 || i < best) ? i : best
    }, -1)
    if (at >= 0) return { tokens: s.tokens.slice(0, k), logp: s.logp.slice(0, k), text: text.slice(0, at), finish: "stop" }
  }
  return natural
}

const utf8 = new TextDecoder()

/** One token's log-prob entry. */
export const tokenLogprob = (tokenizer: Pick<Bpe.Bpe, "bytesOf">, id: number, logprob: number): TokenLogprob => {
  if (id < BYTE_OFFSET) return { token: specialTokens[id] ?? `<|${id}|>`, logprob, bytes: null, top_logprobs: [] }
  const bytes = tokenizer.bytesOf(id)
  return { token: utf8.decode(bytes), logprob, bytes: Array.from(bytes), top_logprobs: [] }
}

/** The choice of a finished completion. */
export const choice = (tokenizer: Pick<Bpe.Bpe, "bytesOf">, index: number, f: Finished, logprobs: boolean): Choice => ({
  index,
  message: { role: "assistant", content: f.text },
  finish_reason: f.finish,
  logprobs: logprobs ? { content: Array.from(f.tokens, (id, k) => tokenLogprob(tokenizer, id, f.logp[k]!)) } : null,
  token_ids: Array.from(f.tokens)
})
