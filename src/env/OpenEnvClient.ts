import { Duration, Effect, Exit, Layer, Option, Schedule, Schema, Scope } from "effect"
import { Socket } from "effect/socket"
import { EnvError, type EnvErrorReason } from "../domain/EnvError.ts"
import * as TaskId from "../domain/TaskId.ts"
import { Env, type EnvSession, type Episode } from "./Env.ts"
import * as OpenEnvProtocol from "./OpenEnvProtocol.ts"

/**
 * The `Env` service over an OpenEnv environment server (openenv-core's `create_app`, or `stepagent env serve
 * --protocol openenv`): each session is a WebSocket connection to `/ws`, as OpenEnv's own `EnvClient` keeps one.
 * A closed session's connection is kept for the next session to open (a reset starts a fresh episode on it, as
 * EnvClient's repeated `reset()` does): a handshake costs more than a short episode's steps. The kept connections
 * close with the layer.
 * A reset sends `{"type": "reset", "data": {"task_id": "<split>:<index>"}}` (the full task id: a train task is a train
 * task whatever the server's --split),
 * a step `{"type": "step", "data": {"message": action}}`; the observation's `text` is the observation, its
 * `instruction` and `max_steps` (where the server sends them) the episode's. docs/env-server.md has the protocol.
 */
export interface ClientOptions {
  /** The server: http(s)://host:port or ws(s)://host:port (OpenEnv's clients take either; `/ws` is added). */
  readonly baseUrl: string
  /** The environment's name in records and errors. */
  readonly env: string
  /** Time limit for opening a connection and for each answer. Default 30 s, as the AgentGym client's. */
  readonly timeout?: Duration.Input
  /**
   * Retries of a connection that could not be opened, and of a reset whose connection was lost (a reset on a new
   * connection is the same episode). Default 3, from `backoff`. A step is never resent: its session lived on the
   * connection, so after a lost connection the episode ends with the reason.
   */
  readonly retries?: number
  /** First retry delay, doubled each time. Default 100 ms. */
  readonly backoff?: Duration.Input
  /** Step limit reported to the rollout when the server does not send `max_steps`. Default 30. */
  readonly maxSteps?: number
  /** Instruction to report when the server's reset does not send one. */
  readonly instruction?: string
}

/** `http://h:p` -> `ws://h:p/ws` (openenv-core's `convert_to_ws_url`, then EnvClient's `/ws`). */
export const wsUrl = (baseUrl: string): string => {
  const base = baseUrl.replace(/\/+$/, "")
  const ws = base.startsWith("http://")
    ? `ws://${base.slice(7)}`
    : base.startsWith("https://")
      ? `wss://${base.slice(8)}`
      : base.startsWith("ws://") || base.startsWith("wss://") ? base : `ws://${base}`
  return `${ws}/ws`
}

/** A failure of one exchange, before it becomes an EnvError. `lost`: the connection (and its session) is gone. */
class Attempt extends Schema.TaggedError<Attempt>()("Attempt", {
  reason: Schema.Literals(["Unreachable", "Timeout", "ServerError", "BadResponse", "SessionLost"]),
  message: Schema.String,
  lost: Schema.Boolean
}) {}

/**
 * A live connection: its scope (closing it closes the socket), reader and writer, frames read ahead, and whether a
 * message is awaiting its answer (an interrupted exchange leaves the connection out of step: it is not kept).
 */
interface Connection {
  readonly scope: Scope.Closeable
  readonly reader: Socket.Reader
  readonly writer: Socket.Writer
  readonly frames: Array<string | Uint8Array>
  awaiting: boolean
}

const decoder = new TextDecoder()
const decodeReply = Schema.decodeUnknownResult(Schema.fromJsonString(OpenEnvProtocol.Reply))

/** What an error frame's code means for the episode. */
const errorReason = (code: string): EnvErrorReason & Attempt["reason"] =>
  code === "CAPACITY_REACHED" ? "ServerError" : code === "SESSION_ERROR" ? "SessionLost" : "BadResponse"

export const make = Effect.fn("OpenEnvClient.make")(function*(options: ClientOptions) {
  const makeWs = yield* Socket.WebSocketConstructor
  const url = wsUrl(options.baseUrl)
  const timeout = options.timeout ?? Duration.seconds(30)
  const timeoutText = Duration.format(Duration.fromInputUnsafe(timeout))
  const retries = options.retries ?? 3
  const backoff = options.backoff ?? Duration.millis(100)
  const envError = (e: Attempt) => new EnvError({ reason: e.reason, env: options.env, message: e.message })

  /** Connections of closed sessions, for the next `open`. */
  const kept: Array<Connection> = []
  /** Every open connection (kept, in use, or of a session never closed): the layer's end closes them all. */
  const live = new Set<Connection>()
  const shut = (c: Connection) =>
    Effect.suspend(() => {
      live.delete(c)
      return Scope.close(c.scope, Exit.void)
    })
  /** Ends a connection: `{"type": "close"}` ends the session on the server at once (as EnvClient.disconnect sends it), then the socket. */
  const end = (c: Connection) => c.writer.write(JSON.stringify({ type: "close" })).pipe(Effect.ignore, Effect.andThen(shut(c)))
  yield* Effect.addFinalizer(() => Effect.forEach([...live], end, { discard: true }))

  /** Opens a connection to /ws (a new session on the server). */
  const connect = Effect.gen(function*() {
    const scope = yield* Scope.make()
    const opened = Effect.gen(function*() {
      const socket = yield* Socket.makeWebSocket(url, { openTimeout: timeout })
      const reader = yield* Scope.provide(socket.reader, scope)
      const writer = yield* Scope.provide(socket.writer, scope)
      const c: Connection = { scope, reader, writer, frames: [], awaiting: false }
      live.add(c)
      return c
    }).pipe(Effect.provideService(Socket.WebSocketConstructor, makeWs))
    return yield* opened.pipe(
      Effect.onExit((exit) => Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void),
      Effect.mapError((e) =>
        new Attempt({
          reason: "Unreachable",
          message: e.reason._tag === "SocketOpenError"
            ? e.reason.kind === "Timeout"
              ? `connect ${url}: no connection within ${timeoutText}`
              : `connect ${url}: the WebSocket could not be opened (refused, or no OpenEnv server there: an AgentGym server is --env-protocol agentgym)`
            : `connect ${url}: ${e.message}`,
          lost: true
        })
      )
    )
  }).pipe(Effect.retry({ while: (e: Attempt) => e.reason === "Unreachable", schedule: Schedule.exponential(backoff), times: retries }))

  /** The next frame, within the time limit. */
  const receive = (c: Connection, what: string) =>
    Effect.gen(function*() {
      if (c.frames.length === 0) {
        const pulled = yield* c.reader.pull.pipe(
          Effect.timeoutOption(timeout),
          Effect.mapError((e) => new Attempt({ reason: "SessionLost", message: `${what}: the connection closed (${e.message}): the server's session is gone`, lost: true }))
        )
        if (Option.isNone(pulled)) return yield* new Attempt({ reason: "Timeout", message: `${what}: no answer within ${timeoutText}`, lost: true })
        c.frames.push(...pulled.value)
      }
      const frame = c.frames.shift()!
      return typeof frame === "string" ? frame : decoder.decode(frame)
    })

  /** Sends one message and reads its answer: an observation or a state, or the server's error as an Attempt. */
  const exchange = (c: Connection, message: unknown, what: string) =>
    Effect.gen(function*() {
      c.awaiting = true
      yield* c.writer.write(JSON.stringify(message)).pipe(
        Effect.mapError((e) => new Attempt({ reason: "SessionLost", message: `${what}: the connection closed (${e.message}): the server's session is gone`, lost: true }))
      )
      const text = yield* receive(c, what)
      c.awaiting = false
      const reply = decodeReply(text)
      if (reply._tag === "Failure") return yield* new Attempt({ reason: "BadResponse", message: `${what}: unexpected answer: ${text.slice(0, 200)}`, lost: false })
      const r = reply.success
      if (r.type === "error") return yield* new Attempt({ reason: errorReason(r.data.code), message: `${what}: ${r.data.code}: ${r.data.message}`, lost: r.data.code === "CAPACITY_REACHED" || r.data.code === "SESSION_ERROR" })
      return r
    })

  const open = Effect.gen(function*() {
    let conn: Connection | undefined = kept.pop() ?? (yield* Effect.mapError(connect, envError))
    let lastActions: ReadonlyArray<string> | undefined
    /** The connection is gone (or its state unknown after a timeout): close it; the session has ended with it. */
    const drop = Effect.suspend(() => {
      const c = conn
      conn = undefined
      return c === undefined ? Effect.void : shut(c)
    })
    const lostError = new Attempt({ reason: "SessionLost", message: "step: the connection to the server was lost, and the episode with it: reset to start another", lost: true })
    /** A failed exchange drops a connection it lost. */
    const onAttempt = (e: Attempt) => e.lost ? Effect.andThen(drop, Effect.fail(e)) : Effect.fail(e)

    const session: EnvSession = {
      reset: (taskId) =>
        Effect.gen(function*() {
          if (TaskId.parse(taskId) === undefined) return yield* new EnvError({ reason: "UnknownTask", env: options.env, message: `task id "${taskId}" is not <train|test>:<index>` })
          // a reset on a new connection is the same episode: a lost connection is reopened and the reset sent again
          const once = Effect.gen(function*() {
            const c = conn ?? (conn = yield* connect)
            const r = yield* exchange(c, { type: "reset", data: { task_id: taskId } }, "reset").pipe(Effect.catch(onAttempt))
            if (r.type !== "observation") return yield* new Attempt({ reason: "BadResponse", message: `reset: answered a ${r.type}, not an observation`, lost: false })
            return r.data
          })
          const r = yield* once.pipe(
            Effect.retry({ while: (e: Attempt) => e.reason === "SessionLost" || e.reason === "Timeout", schedule: Schedule.exponential(backoff), times: retries }),
            Effect.mapError(envError)
          )
          lastActions = r.observation.available_actions
          const episode: Episode = {
            taskId,
            instruction: r.observation.instruction ?? options.instruction ?? "",
            observation: r.observation.text,
            maxSteps: r.observation.max_steps ?? options.maxSteps ?? 30
          }
          return episode
        }),
      step: (action) =>
        Effect.gen(function*() {
          if (conn === undefined) return yield* envError(lostError)
          const r = yield* exchange(conn, { type: "step", data: { message: action } }, "step").pipe(Effect.catch(onAttempt), Effect.mapError(envError))
          if (r.type !== "observation") return yield* new EnvError({ reason: "BadResponse", env: options.env, message: `step: answered a ${r.type}, not an observation` })
          lastActions = r.data.observation.available_actions
          return { observation: r.data.observation.text, reward: r.data.reward ?? 0, done: r.data.done }
        }),
      validActions: Effect.sync(() => lastActions !== undefined && lastActions.length > 0 ? lastActions : undefined),
      close: Effect.suspend(() => {
        const c = conn
        conn = undefined
        if (c === undefined) return Effect.void
        // every answer so far was read: the connection is in step, and the next session resets on it
        if (!c.awaiting) return Effect.sync(() => kept.push(c))
        return end(c)
      })
    }
    return session
  })

  return Env.of({ name: options.env, size: () => undefined, open })
})

/** The client as the `Env` layer, over the platform's global WebSocket. */
export const layer = (options: ClientOptions): Layer.Layer<Env> =>
  Layer.effect(Env, make(options)).pipe(Layer.provide(Socket.layerWebSocketConstructorGlobal))
