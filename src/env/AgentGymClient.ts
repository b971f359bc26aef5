import * as NodeHttp from "node:http"
import * as NodeHttps from "node:https"
import { Duration, Effect, Layer, Result, Schedule, Schema } from "effect"
import { EnvError, type EnvErrorReason } from "../domain/EnvError.ts"
import * as TaskId from "../domain/TaskId.ts"
import { Env, type EnvSession, type Episode } from "./Env.ts"

/**
 * The `Env` service over an AgentGym-style environment server (HTTP/JSON):
 * POST /create, POST /reset, POST /step, GET /observation, POST /close.
 * Both field conventions are spoken: `id` (AgentGym's ALFWorld, SciWorld, ... and `stepagent env serve`)
 * and `env_idx` (AgentGym's WebShop server); `auto` uses the name the server's /create answered with.
 * Task ids `<split>:<index>` are sent as `data_idx: index`: the server's own split decides which task that is.
 * Requests go over node:http on kept-alive connections (shared by all sessions, closed with the layer); answers are
 * decoded with Schema decoders compiled once. Redirects are not followed (a 3xx is a BadResponse naming the new URL).
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

/** The answers' decoders, compiled once. */
type Decode<A> = (json: unknown) => Result.Result<A, Schema.SchemaError>
const decodeCreate: Decode<typeof CreateAnswer.Type> = Schema.decodeUnknownResult(CreateAnswer)
const decodeReset: Decode<typeof ResetAnswer.Type> = Schema.decodeUnknownResult(ResetAnswer)
const decodeStep: Decode<typeof StepAnswer.Type> = Schema.decodeUnknownResult(StepAnswer)
const decodeObservation: Decode<typeof ObservationAnswer.Type> = Schema.decodeUnknownResult(ObservationAnswer)
const decodeAny: Decode<unknown> = Result.succeed

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

const unreachable = (message: string, unsent: boolean) => new Attempt({ reason: "Unreachable", message, retriable: true, unsent })

/** An HTTP answer: its status, body, and where a redirect points. */
interface Answer {
  readonly status: number
  readonly text: string
  readonly location: string | undefined
}

/** Where a request goes: node:http's request options, computed once per endpoint. */
interface Target {
  readonly what: string
  readonly secure: boolean
  readonly options: NodeHttp.RequestOptions
}

const target = (base: string, method: "GET" | "POST", path: string, agent: NodeHttp.Agent): Target => {
  const url = new URL(`${base}${path}`)
  return {
    what: `${method} ${path.split("?")[0]}`,
    secure: url.protocol === "https:",
    // node:http wants an IPv6 host without its URL brackets
    options: { protocol: url.protocol, hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: url.port, path: `${url.pathname}${url.search}`, method, agent }
  }
}

/**
 * One HTTP/1.1 exchange on a kept-alive connection of the target's agent (node:http rather than fetch: a fraction
 * of the CPU a request). Interrupting it (a timeout) destroys the request and its connection.
 */
const exchange = (to: Target, body: string | undefined) =>
  Effect.callback<Answer, Attempt>((resume) => {
    const headers: NodeHttp.OutgoingHttpHeaders = body === undefined
      ? {}
      : { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    const onResponse = (response: NodeHttp.IncomingMessage) => {
      response.setEncoding("utf8")
      let text = ""
      response.on("data", (chunk: string) => {
        text += chunk
      })
      // on the next tick: node:http returns the connection to the agent on one queued at "end", and the next request should find it there
      response.on("end", () => process.nextTick(() => resume(Effect.succeed({ status: response.statusCode ?? 0, text, location: response.headers.location }))))
      // the connection closed before the whole answer came: the request was sent, perhaps acted on
      response.on("error", (e) => resume(Effect.fail(unreachable(`${to.what}: ${e.message}`, false))))
      response.on("close", () => {
        if (!response.complete) resume(Effect.fail(unreachable(`${to.what}: the connection closed before the whole answer came`, false)))
      })
    }
    let request: NodeHttp.ClientRequest
    try {
      request = (to.secure ? NodeHttps : NodeHttp).request({ ...to.options, headers }, onResponse)
    } catch (e) {
      // node:http refuses some requests before sending anything (a host name it cannot use, say)
      return resume(Effect.fail(new Attempt({ reason: "Unreachable", message: `${to.what}: ${e instanceof Error ? e.message : String(e)}`, retriable: false, unsent: true })))
    }
    request.on("error", (e) => resume(Effect.fail(unreachable(`${to.what}: ${e.message}`, refused(e)))))
    request.end(body)
    return Effect.sync(() => request.destroy())
  })

/** What an answer means: the decoded value, or why not. `session`: a 404 means the server lost the session. */
const judge = <A>(answer: Answer, what: string, decode: Decode<A>, session: boolean): Result.Result<A, Attempt> => {
  const { status, text } = answer
  if (status >= 300 && status < 400) {
    // redirects are not followed: a server that moved is named by its new URL
    const where = answer.location === undefined ? "" : ` to ${answer.location}: point the client there`
    return Result.fail(new Attempt({ reason: "BadResponse", message: `${what}: HTTP ${status}, a redirect${where}`, retriable: false, unsent: false }))
  }
  if (status >= 400) {
    const answered = `${what}: HTTP ${status} ${text.slice(0, 200)}`
    return Result.fail(
      status >= 500
        ? new Attempt({ reason: "ServerError", message: answered, retriable: true, unsent: false })
        : new Attempt({ reason: status === 404 && session ? "SessionLost" : "BadResponse", message: answered, retriable: false, unsent: false })
    )
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Result.fail(new Attempt({ reason: "BadResponse", message: `${what}: the answer is not JSON: ${text.slice(0, 120)}`, retriable: false, unsent: false }))
  }
  return Result.mapError(
    decode(json),
    (e) => new Attempt({ reason: "BadResponse", message: `${what}: unexpected answer: ${e.message.split("\n")[0]}`, retriable: false, unsent: false })
  )
}

export const make = Effect.fn("AgentGymClient.make")(function*(options: ClientOptions) {
  const base = options.baseUrl.replace(/\/+$/, "")
  const badUrl = /^https?:\/\//i.test(base) && URL.canParse(base) ? undefined : `${options.baseUrl} is not an http:// or https:// URL`
  const timeout = options.timeout ?? Duration.seconds(30)
  const timeoutText = Duration.format(Duration.fromInputUnsafe(timeout))
  const retries = options.retries ?? 3
  const backoff = Schedule.exponential(options.backoff ?? Duration.millis(100))
  const envError = (reason: EnvErrorReason, message: string) => new EnvError({ reason, env: options.env, message })
  // Connections are kept open between requests (and episodes), and closed with the layer.
  const agent = new (badUrl === undefined && new URL(base).protocol === "https:" ? NodeHttps.Agent : NodeHttp.Agent)({ keepAlive: true })
  yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))

  /** Requests that may be sent again after any failure, and those only when they certainly reached no server. */
  const retryAny = { while: (e: Attempt) => e.retriable, schedule: backoff, times: retries }
  const retryUnsent = { while: (e: Attempt) => e.retriable && e.unsent, schedule: backoff, times: retries }
  const final = (e: Attempt) => envError(e.message.includes("no answer within") ? "Timeout" : e.reason, e.message)

  /**
   * One request: JSON in, JSON out; retried on connection errors, timeouts and 5xx with exponential backoff. A request
   * that is not `idempotent` is retried only when it certainly reached no server. `session`: the request names a
   * session, so a 404 means the server no longer knows it (restarted, or expired it): `SessionLost`.
   */
  const call = <A>(to: Target, body: unknown, decode: Decode<A>, kind: { readonly idempotent: boolean; readonly session: boolean }) =>
    exchange(to, body === undefined ? undefined : JSON.stringify(body)).pipe(
      Effect.flatMap((answer) => Effect.fromResult(judge(answer, to.what, decode, kind.session))),
      Effect.timeout(timeout),
      Effect.catchTag("TimeoutError", () => Effect.fail(unreachable(`${to.what}: no answer within ${timeoutText}`, false))),
      Effect.retry(kind.idempotent ? retryAny : retryUnsent),
      Effect.mapError(final)
    )
  // Which requests may be sent twice: /create (a lost answer leaks an unused session on the server, which its idle
  // expiry reclaims), /reset (resets the same session to the same task), /observation, /close. Not /step.
  const idempotent = { idempotent: true, session: true } as const
  const to = badUrl === undefined
    ? {
      create: target(base, "POST", "/create", agent),
      reset: target(base, "POST", "/reset", agent),
      step: target(base, "POST", "/step", agent),
      close: target(base, "POST", "/close", agent)
    }
    : undefined

  const open = Effect.gen(function*() {
    if (to === undefined) return yield* envError("Unreachable", `POST /create: ${badUrl}`)
    const created = yield* call(to.create, {}, decodeCreate, { idempotent: true, session: false })
    const id = typeof created === "number" ? created : "id" in created ? created.id : created.env_idx
    const key = options.convention === undefined || options.convention === "auto"
      ? (typeof created === "object" && "env_idx" in created && !("id" in created) ? "env_idx" : "id")
      : options.convention
    const ref = { [key]: id }
    const observation = target(base, "GET", `/observation?${new URLSearchParams({ [key]: String(id) })}`, agent)
    let open = true
    const session: EnvSession = {
      reset: (taskId) =>
        Effect.gen(function*() {
          const task = TaskId.parse(taskId)
          if (task === undefined) return yield* envError("UnknownTask", `task id "${taskId}" is not <train|test>:<index>`)
          const answer = yield* call(to.reset, { ...ref, data_idx: task.index }, decodeReset, idempotent)
          const observation = answer.observation ?? (yield* observe)
          const episode: Episode = {
            taskId,
            instruction: answer.instruction ?? options.instruction ?? "",
            observation,
            maxSteps: answer.max_steps ?? options.maxSteps ?? 30
          }
          return episode
        }),
      step: (action) => call(to.step, { ...ref, action }, decodeStep, { idempotent: false, session: true }),
      validActions: Effect.succeed(undefined),
      close: Effect.suspend(() => {
        if (!open) return Effect.void
        open = false
        return call(to.close, ref, decodeAny, idempotent).pipe(Effect.ignore)
      })
    }
    const observe = call(observation, undefined, decodeObservation, idempotent).pipe(
      Effect.map((o) => typeof o === "string" ? o : o.observation)
    )
    return session
  })

  return Env.of({ name: options.env, size: () => undefined, open })
})

/** The client as the `Env` layer; its connections close with the layer. */
export const layer = (options: ClientOptions): Layer.Layer<Env> => Layer.effect(Env, make(options))
