import { NodeHttpServer } from "@effect/platform-node"
import * as NodeServer from "../env/NodeServer.ts"
import { ByteSize, Clock, Effect, Layer } from "effect"
import { HttpIncomingMessage, HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type * as Bpe from "../data/Bpe.ts"
import type * as Transformer from "../model/Transformer.ts"
import * as ApiError from "./ApiError.ts"
import * as ChatPrompt from "./ChatPrompt.ts"
import * as ChatRequest from "./ChatRequest.ts"
import * as ChatResponse from "./ChatResponse.ts"
import * as Completions from "./Completions.ts"

/**
 * A trained policy behind OpenAI's chat-completions API (docs/serve.md), so that any harness that speaks it can
 * run the policy, and get back the ids it sampled:
 *   POST /v1/chat/completions   messages in, the policy's next action out (`ChatRequest` -> `ChatResponse.ChatCompletion`)
 *   GET  /v1/models             the one model served (`ChatResponse.ModelList`)
 *   GET  /health                200, empty (vLLM's liveness probe)
 * The conversation is rendered into a state exactly as training renders one (`ChatPrompt`) and sampled by the
 * sampler evaluation uses (`Completions`). A bad request gets a 400 (413 when too large, 404 for another model or
 * path) with OpenAI's error body and a one-line reason; a model failure a 500; the server goes on serving.
 */
export interface Served {
  /** The model's id in requests and answers (`model`). */
  readonly name: string
  readonly model: Transformer.Model
  readonly tokenizer: Bpe.Bpe
  /** The checkpoint's `render.instruction`: `drop` leaves the system prompt out of the state, as its training did. */
  readonly instruction: "keep" | "drop"
}

export interface Options {
  /** Largest request body (default 8 MiB: a long episode's whole conversation is a few hundred KB). Larger: 413. */
  readonly maxBodyBytes?: number
  /** The server's random stream, for requests without a `seed` (default 0). */
  readonly seed?: number
  readonly completions?: Completions.Options
}

export const defaults = { maxBodyBytes: 8 * 1024 * 1024 }

const errorResponse = (e: ApiError.ApiError) => HttpServerResponse.jsonUnsafe(ApiError.body(e), { status: e.status })

/** Runs a handler; an ApiError becomes its error answer. */
const answer = (effect: Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError.ApiError>) =>
  Effect.catchTag(effect, "ApiError", (e) => Effect.succeed(errorResponse(e)))

export const routes = (served: Served, options: Options = {}) =>
  HttpRouter.use((router) =>
    Effect.gen(function*() {
      const completions = yield* Completions.Completions
      const maxBody = options.maxBodyBytes ?? defaults.maxBodyBytes
      const started = yield* Clock.currentTimeMillis
      const contextLength = served.model.config.contextLength
      let count = 0 // completion ids: chatcmpl-<start>-<n>, unique within a server's life
      const body = (request: HttpServerRequest.HttpServerRequest) =>
        request.text.pipe(
          Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBody)),
          Effect.mapError((e) =>
            e.reason._tag === "RequestParseError" && e.reason.reason === "BodyTooLarge"
              ? new ApiError.ApiError({ status: 413, type: "invalid_request_error", message: `the request body is larger than the limit of ${maxBody} bytes`, param: null, code: null })
              : ApiError.invalid("could not read the request body")
          )
        )
      const chat = Effect.fn("PolicyServer.chat")(function*(request: HttpServerRequest.HttpServerRequest) {
        const { prompt, req } = yield* completions.admit(Effect.gen(function*() {
          const req = yield* Effect.fromResult(ChatRequest.decode(yield* body(request)))
          if (req.model !== undefined && req.model !== served.name) {
            return yield* new ApiError.ApiError({ status: 404, type: "invalid_request_error", message: `the model ${JSON.stringify(req.model)} does not exist: this server serves ${JSON.stringify(served.name)}`, param: "model", code: "model_not_found" })
          }
          const messages = yield* Effect.fromResult(ChatPrompt.parseMessages(req.messages, served.tokenizer))
          return { req, prompt: yield* Effect.fromResult(ChatPrompt.build(served.tokenizer, contextLength, served.instruction, messages)) }
        }))
        const sampled = yield* completions.sample(prompt, { n: req.n, temperature: req.temperature, topK: req.topK, topP: req.topP, maxTokens: req.maxTokens, seed: req.seed })
        const now = yield* Clock.currentTimeMillis
        const finished = sampled.map((s) => ChatResponse.finish(served.tokenizer, s, req.stop))
        const completionTokens = finished.reduce((n, f) => n + f.tokens.length, 0)
        count++
        const out: ChatResponse.ChatCompletion = {
          id: `chatcmpl-${started.toString(36)}-${count}`,
          object: "chat.completion",
          created: Math.floor(now / 1000),
          model: served.name,
          choices: finished.map((f, i) => ChatResponse.choice(served.tokenizer, i, f, req.logprobs)),
          usage: { prompt_tokens: prompt.state.length, completion_tokens: completionTokens, total_tokens: prompt.state.length + completionTokens },
          prompt_token_ids: Array.from(ChatPrompt.tokens(prompt))
        }
        return HttpServerResponse.jsonUnsafe(out)
      })
      const models: ChatResponse.ModelList = {
        object: "list",
        data: [{ id: served.name, object: "model", created: Math.floor(started / 1000), owned_by: "stepagent", max_model_len: contextLength }]
      }
      yield* router.add("POST", "/v1/chat/completions", (request) => answer(chat(request)))
      yield* router.add("GET", "/v1/models", HttpServerResponse.jsonUnsafe(models))
      yield* router.add("GET", "/health", HttpServerResponse.empty({ status: 200 }))
      yield* router.add("*", "*", (request) =>
        Effect.succeed(errorResponse(new ApiError.ApiError({
          status: 404,
          type: "invalid_request_error",
          message: `no route ${request.method} ${new URL(request.url, "http://localhost").pathname} (POST /v1/chat/completions, GET /v1/models)`,
          param: null,
          code: null
        }))))
    })
  )

/** The server as a layer listening on host:port (port 0 picks a free one), with its sampler. */
export const layer = (served: Served, options: Options & { readonly port: number; readonly host: string }) =>
  HttpRouter.serve(routes(served, options), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provide(Completions.layer(served.model, { ...options.completions, ...(options.seed === undefined ? {} : { seed: options.seed }) })),
    Layer.provideMerge(NodeHttpServer.layer(NodeServer.make, { port: options.port, host: options.host }))
  )
