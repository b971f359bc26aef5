import { Result, Schema } from "effect"
import { schemaIssueLine } from "../pipeline/PipelineError.ts"
import * as ApiError from "./ApiError.ts"

/**
 * The body of `POST /v1/chat/completions`: OpenAI's chat-completion request, the fields a policy can honour.
 * Fields OpenAI clients send that change nothing here (`user`, `metadata`, `store`, `parallel_tool_calls`, ...)
 * are ignored; fields whose meaning the server cannot give are refused with a 400 naming them (`stream: true`,
 * tools, penalties, a logit bias, a structured response format, top log-probs), never silently dropped.
 * `messages` is checked by the chat importer's reader (`ChatPrompt.parseMessages`).
 */
const nullable = <S extends Schema.Top>(s: S) => Schema.optionalKey(Schema.NullOr(s))
const positiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

export const maxN = 16 // completions per request: bounds one request's share of a batch
export const maxStop = 4 // OpenAI's limit on stop sequences

export const Body = Schema.Struct({
  model: nullable(Schema.String),
  messages: Schema.Array(Schema.Unknown),
  temperature: nullable(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 2 }))),
  top_p: nullable(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true }))),
  top_k: nullable(Schema.Int.check(Schema.isGreaterThanOrEqualTo(-1))), // vLLM's extension: 0 or -1 = off
  max_tokens: nullable(positiveInt),
  max_completion_tokens: nullable(positiveInt),
  n: nullable(positiveInt.check(Schema.isLessThanOrEqualTo(maxN))),
  seed: nullable(Schema.Int),
  stop: nullable(Schema.Union([Schema.String, Schema.Array(Schema.String).check(Schema.isMaxLength(maxStop))])),
  logprobs: nullable(Schema.Boolean),
  top_logprobs: nullable(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20 }))),
  stream: nullable(Schema.Boolean),
  return_token_ids: nullable(Schema.Boolean), // vLLM's flag; the ids are always returned
  frequency_penalty: nullable(Schema.Finite),
  presence_penalty: nullable(Schema.Finite),
  logit_bias: nullable(Schema.Record(Schema.String, Schema.Finite)),
  tools: nullable(Schema.Array(Schema.Unknown)),
  functions: nullable(Schema.Array(Schema.Unknown)),
  tool_choice: nullable(Schema.Unknown),
  function_call: nullable(Schema.Unknown),
  response_format: nullable(Schema.Unknown)
})
export type Body = typeof Body.Type

/** What a request asks of the sampler, resolved (defaults filled in). */
export interface Request {
  readonly model: string | undefined
  readonly messages: ReadonlyArray<unknown>
  readonly temperature: number // OpenAI's default 1: the policy itself (pass 0 for greedy, as `stepagent eval` acts)
  readonly topP: number
  readonly topK: number
  readonly maxTokens: number | undefined // undefined: the room the context leaves for an action (`Context.actionReserve`)
  readonly n: number
  readonly seed: number | undefined
  readonly stop: ReadonlyArray<string>
  readonly logprobs: boolean
}

const refuse = (field: string, why: string) => Result.fail(ApiError.invalid(`${field}: ${why}`, field))

/** The first field a Schema issue names (`temperature` of `at ["temperature"]`), for `param`. */
const fieldOf = (text: string): string | null => /at \["([^"]*)"\]/.exec(text)?.[1] ?? null

const parseJson = (text: string): Result.Result<unknown, ApiError.ApiError> => {
  try {
    return Result.succeed(JSON.parse(text) as unknown)
  } catch {
    return Result.fail(ApiError.invalid("the body is not valid JSON"))
  }
}

/** Decodes a request body (its text): malformed JSON, a wrong field or a field the server cannot honour is a 400. */
export const decode = (text: string): Result.Result<Request, ApiError.ApiError> =>
  Result.flatMap(parseJson(text), (json) => {
    if (typeof json !== "object" || json === null || Array.isArray(json)) return Result.fail(ApiError.invalid("the body must be a JSON object"))
    if (!("messages" in json)) return Result.fail(ApiError.invalid("missing field messages", "messages"))
    const decoded = Schema.decodeUnknownExit(Body)(json)
    if (decoded._tag === "Failure") {
      const text = decoded.cause.reasons.map((r) => (r._tag === "Fail" ? r.error.message : "")).join("\n")
      return Result.fail(ApiError.invalid(schemaIssueLine(text), fieldOf(text)))
    }
    const b = decoded.value
    if (b.stream === true) return refuse("stream", "streaming is not supported: send stream false (or leave it out) for one JSON answer")
    if ((b.tools ?? []).length > 0 || (b.functions ?? []).length > 0) return refuse(b.tools !== undefined && b.tools !== null ? "tools" : "functions", "tool calling is not supported: the policy answers with its next action as text")
    if (b.tool_choice !== undefined && b.tool_choice !== null && b.tool_choice !== "none") return refuse("tool_choice", "tool calling is not supported (only \"none\")")
    if (b.function_call !== undefined && b.function_call !== null && b.function_call !== "none") return refuse("function_call", "function calling is not supported (only \"none\")")
    for (const [field, v] of [["frequency_penalty", b.frequency_penalty], ["presence_penalty", b.presence_penalty]] as const) {
      if (v !== undefined && v !== null && v !== 0) return refuse(field, "penalties are not supported: they would sample from another distribution than the policy's")
    }
    if (b.logit_bias !== undefined && b.logit_bias !== null && Object.keys(b.logit_bias).length > 0) return refuse("logit_bias", "a logit bias is not supported")
    const format = b.response_format
    if (format !== undefined && format !== null && !(typeof format === "object" && !Array.isArray(format) && (format as Record<string, unknown>)["type"] === "text")) {
      return refuse("response_format", "only {\"type\": \"text\"} is supported")
    }
    if ((b.top_logprobs ?? 0) > 0) return refuse("top_logprobs", "top log-probs are not supported (each token's own log-prob is, with logprobs: true)")
    const maxTokens = b.max_tokens ?? undefined
    const maxCompletionTokens = b.max_completion_tokens ?? undefined
    if (maxTokens !== undefined && maxCompletionTokens !== undefined && maxTokens !== maxCompletionTokens) {
      return refuse("max_completion_tokens", `disagrees with max_tokens (${maxCompletionTokens} vs ${maxTokens}): give one`)
    }
    const stop = typeof b.stop === "string" ? [b.stop] : b.stop ?? []
    if (stop.some((s) => s === "")) return refuse("stop", "a stop sequence is empty")
    return Result.succeed({
      model: b.model ?? undefined,
      messages: b.messages,
      temperature: b.temperature ?? 1,
      topP: b.top_p ?? 1,
      topK: Math.max(0, b.top_k ?? 0),
      maxTokens: maxCompletionTokens ?? maxTokens,
      n: b.n ?? 1,
      seed: b.seed ?? undefined,
      stop,
      logprobs: b.logprobs ?? false
    })
  })
