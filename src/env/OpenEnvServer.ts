import * as NodeCrypto from "node:crypto"
import { NodeHttpServer } from "@effect/platform-node"
import * as NodeServer from "./NodeServer.ts"
import { Clock, Duration, Effect, Fiber, Layer, Result } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { Socket } from "effect/socket"
import type { Split } from "../domain/TaskId.ts"
import * as AgentGymServer from "./AgentGymServer.ts"
import * as HttpRefusal from "./HttpRefusal.ts"
import { refuse, type Refusal } from "./HttpRefusal.ts"
import * as OpenEnvProtocol from "./OpenEnvProtocol.ts"
import { ProtocolError } from "./OpenEnvProtocol.ts"
import * as OpenEnvSession from "./OpenEnvSession.ts"
import * as SessionTable from "./SessionTable.ts"
import type { Simulator } from "./Simulator.ts"

/**
 * An HTTP + WebSocket server speaking OpenEnv's environment protocol over a built-in simulator, serving what
 * openenv-core 0.2.3's `create_app` serves (src/openenv/core/env_server/http_server.py at commit 685de41), so that
 * OpenEnv's clients (`GenericEnvClient`, any `EnvClient`), curl and plain WebSocket clients can drive it:
 *   GET  /health   -> {"status": "healthy"}
 *   GET  /metadata -> {"name", "description", "readme_content", "version", "author", "documentation_url"}
 *   GET  /schema   -> {"action", "observation", "state"}: JSON Schemas
 *   POST /reset    {"task_id"?, "seed"?, "episode_id"?} -> {"observation", "reward", "done"}   (stateless)
 *   POST /step     {"action": {"message": "..."}}        -> refused: a fresh environment has no episode (stateless)
 *   GET  /state    -> a fresh environment's state                                              (stateless)
 *   GET  /ws       -> WebSocket: one session per connection; messages in OpenEnvProtocol.ts
 * As in openenv-core, the HTTP /reset, /step and /state each run on a fresh environment that lives for the request;
 * episodes live on /ws. HTTP refusals are a 4xx with FastAPI's `{"detail": "..."}`; WebSocket refusals an error frame
 * `{"type": "error", "data": {"message", "code"}}`, after which the connection goes on serving. Nothing a client
 * sends crashes the server or gets a stack trace.
 */
export interface ServerOptions {
  readonly split: Split
  /** The seed the simulator was made with: a reset's `seed` must match it. */
  readonly worldSeed: number
  /** WebSocket sessions open at once; a connection beyond it gets a CAPACITY_REACHED error and is closed. */
  readonly maxSessions?: number
  /** A WebSocket session without a message for this long is closed (its slot freed). */
  readonly idleTimeout?: Duration.Input
  /** Largest HTTP body (413 beyond) and WebSocket message (the connection is closed with 1009 beyond). */
  readonly maxBodyBytes?: number
  /** Episode ids when a reset gives none. Default: random UUIDs (not a result of any run, so not from the run's seed). */
  readonly episodeId?: () => string
}

/** The AgentGym server's limits: the same sessions for the same reasons (AgentGymServer.ts says why each). */
export const defaults = {
  maxSessions: AgentGymServer.defaults.maxSessions,
  idleTimeout: AgentGymServer.defaults.idleTimeout,
  maxBodyBytes: AgentGymServer.defaults.maxBodyBytes
}

/** An HTTP request the server refuses, with the status and a one-line reason. */

/** HTTP statuses of protocol errors: FastAPI's 422 for a body that is not the model, 400 for a task the environment refuses. */
const status = (e: ProtocolError) => e.code === "INVALID_JSON" || e.code === "VALIDATION_ERROR" ? 422 : 400
const refused = <A>(result: Result.Result<A, ProtocolError>) => Effect.mapError(Effect.fromResult(result), (e) => refuse(status(e), e.message))

/** Runs a handler; a refusal becomes FastAPI's error answer. */
const answer = (effect: Effect.Effect<HttpServerResponse.HttpServerResponse, Refusal>) =>
  Effect.catchTag(effect, "Refusal", (r) => Effect.succeed(HttpServerResponse.jsonUnsafe({ detail: r.message }, { status: r.status })))

const decoder = new TextDecoder()

/**
 * The server's routes, and an effect that ends every open WebSocket session (code 1001): Node's server waits for open
 * connections when it closes, so the layer ends the sessions first.
 */
const make = (sim: Simulator, options: ServerOptions) => {
  const maxSessions = options.maxSessions ?? defaults.maxSessions
  const idle = Duration.fromInputUnsafe(options.idleTimeout ?? defaults.idleTimeout)
  const maxBody = options.maxBodyBytes ?? defaults.maxBodyBytes
  const idleText = Duration.format(idle)
  const sessionOptions: OpenEnvSession.Options = {
    split: options.split,
    worldSeed: options.worldSeed,
    episodeId: options.episodeId ?? (() => NodeCrypto.randomUUID())
  }
  const fresh = () => OpenEnvSession.make(sim, sessionOptions)
  const sessions = SessionTable.make<OpenEnvSession.OpenEnvSession>({ maxSessions, idleMillis: Duration.toMillis(idle) })
  /** The fibers serving open WebSocket connections. */
  const connections = new Set<Fiber.Fiber<unknown, unknown>>()

  const metadata = {
    name: sim.name,
    description: `stepagent's built-in ${sim.name} environment: ${sim.size(options.split)} ${options.split} tasks of world seed ${options.worldSeed}; an action is a line of text ({"message": "..."}); protocol: stepagent's docs/env-server.md`,
    // the instruction is what a README would tell an agent: what the actions are and how to write them
    readme_content: sim.instruction,
    version: null,
    author: null,
    documentation_url: null // docs/env-server.md in stepagent's repository
  }
  const schemas = OpenEnvProtocol.schemas()

  /** The body as JSON (an empty body is `{}`, as FastAPI's `Body(default_factory=ResetRequest)`), refused with 413 beyond the size limit. */
  const body = (request: HttpServerRequest.HttpServerRequest) =>
    HttpRefusal.text(request, maxBody).pipe(
      Effect.flatMap((text) => text.trim() === "" ? Effect.succeed<unknown>({}) : refused(OpenEnvProtocol.parseJson(text)))
    )
  const decodeReset = OpenEnvProtocol.decode(OpenEnvProtocol.ResetData, "reset request")
  const decodeStep = OpenEnvProtocol.decode(OpenEnvProtocol.StepBody, "step request")
  const decodeAction = OpenEnvProtocol.decode(OpenEnvProtocol.Action, "action")

  /** One text frame of a session: the reply frame, or undefined for a close. */
  const handle = (session: OpenEnvSession.OpenEnvSession, text: string): string | undefined => {
    const message = OpenEnvProtocol.incoming(text)
    if (Result.isFailure(message)) return OpenEnvProtocol.errorReply(message.failure)
    const m = message.success
    switch (m.type) {
      case "close":
        return undefined
      case "state":
        return JSON.stringify({ type: "state", data: session.state() })
      case "reset":
      case "step": {
        const r = m.type === "reset" ? session.reset(m.data) : session.step(m.action)
        return Result.isFailure(r) ? OpenEnvProtocol.errorReply(r.failure) : JSON.stringify({ type: "observation", data: r.success })
      }
    }
  }

  /** A WebSocket connection: one session from open to close, messages answered in order. */
  const serveSocket = Effect.fn("OpenEnvServer.session")(function*(socket: Socket.Socket) {
    const fiber = yield* Effect.fiber
    connections.add(fiber)
    yield* Effect.addFinalizer(() => Effect.sync(() => connections.delete(fiber)))
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    const id = sessions.create(yield* Clock.currentTimeMillis, fresh())
    if (id === undefined) {
      const active = sessions.size(yield* Clock.currentTimeMillis)
      const full = new ProtocolError({ code: "CAPACITY_REACHED", message: `Server at capacity: ${active} of ${maxSessions} sessions open; close one, or wait for idle ones to be closed after ${idleText}` })
      return yield* writer.write(OpenEnvProtocol.errorReply(full, { active_sessions: active, max_sessions: maxSessions }))
    }
    const closed = new ProtocolError({ code: "SESSION_ERROR", message: `the session had no message for ${idleText} and is closed` })
    const loop = Effect.gen(function*() {
      while (true) {
        const frames = yield* Effect.timeoutOption(reader.pull, idle)
        if (frames._tag === "None") return yield* writer.write(OpenEnvProtocol.errorReply(closed))
        for (const frame of frames.value) {
          const session = sessions.get(yield* Clock.currentTimeMillis, id)
          if (typeof session === "string") return yield* writer.write(OpenEnvProtocol.errorReply(closed))
          const reply = handle(session, typeof frame === "string" ? frame : decoder.decode(frame))
          if (reply === undefined) return
          yield* writer.write(reply)
        }
      }
    })
    yield* loop.pipe(
      // the client went away (or sent a message over the size limit): the session ends with the connection
      Effect.catchTag("SocketError", () => Effect.void),
      Effect.ensuring(Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => sessions.close(now, id))))
    )
  })

  const routes = HttpRouter.use((router) =>
    Effect.all([
      router.add("GET", "/health", HttpServerResponse.jsonUnsafe({ status: "healthy" })),
      router.add("GET", "/metadata", HttpServerResponse.jsonUnsafe(metadata)),
      router.add("GET", "/schema", HttpServerResponse.jsonUnsafe(schemas)),
      router.add("GET", "/state", Effect.sync(() => HttpServerResponse.jsonUnsafe(fresh().state()))),
      router.add("POST", "/reset", (request) =>
        answer(Effect.gen(function*() {
          const data = yield* refused(decodeReset(yield* body(request)))
          return HttpServerResponse.jsonUnsafe(yield* refused(fresh().reset(data)))
        }))),
      router.add("POST", "/step", (request) =>
        answer(Effect.gen(function*() {
          const step = yield* refused(decodeStep(yield* body(request)))
          yield* refused(decodeAction(step.action))
          return yield* refuse(
            409,
            "POST /step runs on a fresh environment, which has no episode to step: as in openenv-core, the HTTP endpoints keep no session between requests. Play episodes over the WebSocket /ws"
          )
        }))),
      router.add("GET", "/ws", (request) =>
        request.upgrade.pipe(
          Effect.flatMap((socket) => Effect.scoped(serveSocket(socket))),
          Effect.as(HttpServerResponse.empty()),
          Effect.catchTag("HttpServerError", () =>
            Effect.succeed(HttpServerResponse.jsonUnsafe({ detail: "/ws is a WebSocket endpoint: connect with a WebSocket client (ws://host:port/ws)" }, { status: 426 })))
        )),
      router.add("*", "*", (request) =>
        Effect.succeed(HttpServerResponse.jsonUnsafe({ detail: `Not Found: no route ${request.method} ${new URL(request.url, "http://localhost").pathname}` }, { status: 404 })))
    ])
  )
  return { routes, closeSessions: Effect.suspend(() => Fiber.interruptAll(connections)) }
}

export const routes = (sim: Simulator, options: ServerOptions) => make(sim, options).routes

/** The server as a layer listening on host:port (port 0 picks a free one). */
export const layer = (sim: Simulator, options: ServerOptions & { readonly port: number; readonly host: string }) => {
  const server = make(sim, options)
  // built after the server, so its finalizer runs first: the open sessions end before the server waits for them
  const endSessions = Layer.effectDiscard(Effect.addFinalizer(() => server.closeSessions))
  return endSessions.pipe(
    Layer.provideMerge(HttpRouter.serve(server.routes, { disableLogger: true, disableListenLog: true })),
    Layer.provideMerge(NodeHttpServer.layer(NodeServer.make, {
      port: options.port,
      host: options.host,
      websocket: { maxPayload: options.maxBodyBytes ?? defaults.maxBodyBytes }
    }))
  )
}
