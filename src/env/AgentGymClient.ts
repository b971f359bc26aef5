import { Duration, Effect, Layer, Schedule, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { EnvError, type EnvErrorReason } from "../domain/EnvError.ts"
import * as TaskId from "../domain/TaskId.ts"
import { Env, type EnvSession, type Episode } from "./Env.ts"

/**
 * The `Env` service over an AgentGym-style environment server (HTTP/JSON):
 * POST /create, POST /reset, POST /step, GET /observation, POST /close.
 * Both field conventions are spoken: `id` (AgentGym's ALFWorld, SciWorld, ... and `stepagent env serve`)
 * and `env_idx` (AgentGym's WebShop server); `auto` uses the name the server's /create answered with.
 * Task ids `<split>:<index>` are sent as `data_idx: index`: the server's own split decides which task that is.
 */
export interface ClientOptions {
  readonly baseUrl: string
  /** The environment's name in records and errors. */
  readonly env: string
  /** Per-request time limit. Default 30 s: real WebShop/ALFWorld servers take seconds on a cold search. */
  readonly timeout?: Duration.Input
  /**
   * Retries on connection errors, timeouts and 5xx. Default 3: rides out a server restart without hiding a dead one.
   * `/step` is not idempotent (an action applied twice is a different episode), so it is retried only when the
   * connection was refused, i.e. the request never reached a server; after any other failure its episode ends
   * with the reason.
   */
  readonly retries?: number
  /** First retry delay, doubled each time. Default 100 ms. */
  readonly backoff?: Duration.Input
  readonly convention?: "id" | "env_idx" | "auto"
  /** Step limit reported to the rollout (the server does not say). Default 30, ALFWorld's evaluation limit range. */
  readonly maxSteps?: number
  /** Instruction to report when the server's /reset does not send one. */
  readonly instruction?: string
}

const CreateAnswer = Schema.Union([
  Schema.Int,
  Schema.Struct({ id: Schema.Int }),
  Schema.Struct({ env_idx: Schema.Int })
])
const ResetAnswer = Schema.Struct({
  observation: Schema.optionalKey(Schema.String),
  instruction: Schema.optionalKey(Schema.String),
  max_steps: Schema.optionalKey(Schema.Int)
})
const StepAnswer = Schema.Struct({ observation: Schema.String, reward: Schema.Number, done: Schema.Boolean })
const ObservationAnswer = Schema.Union([Schema.String, Schema.Struct({ observation: Schema.String })])

/** A failure of one HTTP exchange, before it is turned into an EnvError. */
class Attempt extends Schema.TaggedError<Attempt>()("Attempt", {
  reason: Schema.Literals(["Unreachable", "ServerError", "BadResponse", "SessionLost"]),
  message: Schema.String,
  retriable: Schema.Boolean,
  /** The request certainly reached no server (the connection was refused): safe to send again, whatever it does. */
  unsent: Schema.Boolean
}) {}

/** True when an error's cause chain holds a refused connection (`ECONNREFUSED`). */
const refused = (e: unknown): boolean => {
  let c: unknown = e
  for (let depth = 0; depth < 6 && typeof c === "object" && c !== null; depth++) {
    if ("code" in c && c.code === "ECONNREFUSED") return true
    c = "cause" in c ? c.cause : undefined
  }
  return false
}

export const make = Effect.fn("AgentGymClient.make")(function*(options: ClientOptions) {
  const http = yield* HttpClient.HttpClient
  const base = options.baseUrl.replace(/\/+$/, "")
  const timeout = options.timeout ?? Duration.seconds(30)
  const retries = options.retries ?? 3
  const backoff = options.backoff ?? Duration.millis(100)
  const envError = (reason: EnvErrorReason, message: string) => new EnvError({ reason, env: options.env, message })

  /**
   * One request: JSON in, JSON out; retried on connection errors, timeouts and 5xx with exponential backoff. A request
   * that is not `idempotent` is retried only when it certainly reached no server. `session`: the request names a
   * session, so a 404 means the server no longer knows it (restarted, or expired it): `SessionLost`.
   */
  const call = <A>(
    request: HttpClientRequest.HttpClientRequest,
    what: string,
    schema: Schema.ConstraintDecoder<A, never>,
    kind: { readonly idempotent: boolean; readonly session: boolean }
  ) => {
    const once = Effect.gen(function*() {
      const response = yield* http.execute(request).pipe(
        Effect.mapError((e) => new Attempt({ reason: "Unreachable", message: `${what}: ${e.message}`, retriable: true, unsent: refused(e) }))
      )
      const text = yield* response.text.pipe(
        Effect.mapError((e) => new Attempt({ reason: "Unreachable", message: `${what}: ${e.message}`, retriable: true, unsent: false }))
      )
      const answered = `${what}: HTTP ${response.status} ${text.slice(0, 200)}`
      if (response.status >= 500) return yield* new Attempt({ reason: "ServerError", message: answered, retriable: true, unsent: false })
      if (response.status === 404 && kind.session) return yield* new Attempt({ reason: "SessionLost", message: answered, retriable: false, unsent: false })
      if (response.status >= 400) return yield* new Attempt({ reason: "BadResponse", message: answered, retriable: false, unsent: false })
      const json = yield* Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: () => new Attempt({ reason: "BadResponse", message: `${what}: the answer is not JSON: ${text.slice(0, 120)}`, retriable: false, unsent: false })
      })
      return yield* Schema.decodeUnknownEffect(schema)(json).pipe(
        Effect.mapError((e) => new Attempt({ reason: "BadResponse", message: `${what}: unexpected answer: ${e.message.split("\n")[0]}`, retriable: false, unsent: false }))
      )
    })
    return once.pipe(
      Effect.timeout(timeout),
      Effect.catchTag("TimeoutError", () => Effect.fail(new Attempt({ reason: "Unreachable", message: `${what}: no answer within ${Duration.format(Duration.fromInputUnsafe(timeout))}`, retriable: true, unsent: false }))),
      Effect.retry({ while: (e: Attempt) => e.retriable && (kind.idempotent || e.unsent), schedule: Schedule.exponential(backoff), times: retries }),
      Effect.mapError((e) => envError(e.message.includes("no answer within") ? "Timeout" : e.reason, e.message))
    )
  }
  // Which requests may be sent twice: /create (a lost answer leaks an unused session on the server, which its idle
  // expiry reclaims), /reset (resets the same session to the same task), /observation, /close. Not /step.
  const idempotent = { idempotent: true, session: true } as const

  const post = (path: string, body: unknown) => HttpClientRequest.post(`${base}${path}`).pipe(HttpClientRequest.bodyJsonUnsafe(body))

  const open = Effect.gen(function*() {
    const created = yield* call(post("/create", {}), "POST /create", CreateAnswer, { idempotent: true, session: false })
    const id = typeof created === "number" ? created : "id" in created ? created.id : created.env_idx
    const key = options.convention === undefined || options.convention === "auto"
      ? (typeof created === "object" && "env_idx" in created && !("id" in created) ? "env_idx" : "id")
      : options.convention
    const ref = { [key]: id }
    let open = true
    const session: EnvSession = {
      reset: (taskId) =>
        Effect.gen(function*() {
          const task = TaskId.parse(taskId)
          if (task === undefined) return yield* envError("UnknownTask", `task id "${taskId}" is not <train|test>:<index>`)
          const answer = yield* call(post("/reset", { ...ref, data_idx: task.index }), "POST /reset", ResetAnswer, idempotent)
          const observation = answer.observation ?? (yield* observe)
          const episode: Episode = {
            taskId,
            instruction: answer.instruction ?? options.instruction ?? "",
            observation,
            maxSteps: answer.max_steps ?? options.maxSteps ?? 30
          }
          return episode
        }),
      step: (action) => call(post("/step", { ...ref, action }), "POST /step", StepAnswer, { idempotent: false, session: true }),
      validActions: Effect.succeed(undefined),
      close: Effect.suspend(() => {
        if (!open) return Effect.void
        open = false
        return call(post("/close", ref), "POST /close", Schema.Unknown, idempotent).pipe(Effect.ignore)
      })
    }
    const observe = call(HttpClientRequest.get(`${base}/observation`).pipe(HttpClientRequest.setUrlParam(key, String(id))), "GET /observation", ObservationAnswer, idempotent).pipe(
      Effect.map((o) => typeof o === "string" ? o : o.observation)
    )
    return session
  })

  return Env.of({ name: options.env, size: () => undefined, open })
})

/** The client as the `Env` layer, over the platform's fetch. */
export const layer = (options: ClientOptions): Layer.Layer<Env> =>
  Layer.effect(Env, make(options)).pipe(Layer.provide(FetchHttpClient.layer))
