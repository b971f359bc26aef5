import * as NodeCrypto from "node:crypto"
import { NodeHttpServer } from "@effect/platform-node"
import * as NodeServer from "./NodeServer.ts"
import { Clock, Duration, Effect, Layer, type Result } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Split } from "../domain/TaskId.ts"
import * as AgentGymRequest from "./AgentGymRequest.ts"
import { checkTask } from "./Builtin.ts"
import * as HttpRefusal from "./HttpRefusal.ts"
import { refuse, type Refusal } from "./HttpRefusal.ts"
import * as SessionTable from "./SessionTable.ts"
import type { SimEpisode, Simulator } from "./Simulator.ts"

/**
 * An HTTP server speaking AgentGym's environment protocol over a built-in simulator, so that AgentGym's own
 * Python clients (agentenv/agentenv/envs/*.py) and stepagent's client can drive it. docs/env-server.md has
 * every request and answer. In short:
 *   POST /create                      -> {"id", "env_idx", "observation"}, or a bare integer (createReply "integer")
 *   POST /reset {session, task field} -> {"id", "env_idx", "task_id", "observation", "instruction", "max_steps", ...}
 *   POST /step  {session, "action"}   -> {"observation", "state", "reward", "score", "done", "terminated", "available_actions"}
 *   GET  /observation?id=n            -> the observation as a JSON string
 *   POST /close {session}             -> {"closed": true}
 *   GET  /                            -> "ok"
 * Answers are the union of the keys AgentGym's clients read; only /create's answer differs in type between
 * clients (an object for ALFWorld & co., a bare integer for WebShop & co.), hence `createReply`.
 * Refusals are a 4xx with `{"error": "..."}`; nothing a client sends crashes the server.
 */
export interface ServerOptions {
  readonly split: Split
  /** The seed the simulator was made with: a reset's `seed` field (WebArena's client sends 0) must match it. */
  readonly worldSeed: number
  /** Sessions open at once; /create beyond it answers 429. Default 10,000: far above the 1,000 concurrent sessions tested. */
  readonly maxSessions?: number
  /**
   * The first session id. Default: drawn at random below 2^30 when the server starts, so that a restarted server
   * does not answer to the ids its previous life handed out (a client still holding one would drive a stranger's
   * session); ids then count up from it. Not a result of any run, so it need not come from the run's seed.
   */
  readonly firstId?: number
  /**
   * A session without a request for this long is dropped (its slot freed). Default 30 minutes: the gap between
   * two requests is one policy reply, minutes at worst for a large model on a busy GPU, and a crashed run's
   * sessions still come back within the half hour.
   */
  readonly idleTimeout?: Duration.Input
  /**
   * Largest request body accepted; larger ones get 413. Default 1 MiB: an action is one model reply (a few KB),
   * so this is hundreds of times the largest real request, and bounds what a request can make the server hold.
   */
  readonly maxBodyBytes?: number
  /**
   * What /create answers: "object" (`{"id", "env_idx", "observation"}`, read by ALFWorld, BabyAI, SciWorld,
   * TextCraft, Maze and WebArena's clients and stepagent's) or "integer" (the bare session number, read by WebShop,
   * SQLGym, SearchQA and the tool environments' clients). Default "object".
   */
  readonly createReply?: CreateReply
}

export type CreateReply = "object" | "integer"

export const defaults = {
  maxSessions: 10_000,
  idleTimeout: Duration.minutes(30),
  maxBodyBytes: 1024 * 1024,
  createReply: "object" as CreateReply
}

interface Session {
  episode: SimEpisode | undefined
  observation: string
  /** The episode has answered done: later steps get reward 0 and change nothing. */
  done: boolean
}

/** A request the server refuses, with the status and a one-line reason. */
const parsed = <A>(result: Result.Result<A, string>) => Effect.mapError(Effect.fromResult(result), (m) => refuse(400, m))

/** Runs a handler; a refusal becomes its JSON error answer. */
const answer = (effect: Effect.Effect<HttpServerResponse.HttpServerResponse, Refusal>) =>
  Effect.catchTag(effect, "Refusal", (r) => Effect.succeed(HttpServerResponse.jsonUnsafe({ error: r.message }, { status: r.status })))

export const routes = (sim: Simulator, options: ServerOptions) => {
  const maxSessions = options.maxSessions ?? defaults.maxSessions
  const idle = Duration.fromInputUnsafe(options.idleTimeout ?? defaults.idleTimeout)
  const maxBody = options.maxBodyBytes ?? defaults.maxBodyBytes
  const createReply = options.createReply ?? defaults.createReply
  const sessions = SessionTable.make<Session>({ maxSessions, idleMillis: Duration.toMillis(idle), firstId: options.firstId ?? NodeCrypto.randomInt(0, 2 ** 30) })
  const idleText = Duration.format(idle)

  /** The body as text, refused with 413 beyond the size limit. */
  const text = (request: HttpServerRequest.HttpServerRequest) => HttpRefusal.text(request, maxBody)

  const lookup = (now: number, ref: AgentGymRequest.SessionRef) => {
    const s = sessions.get(now, ref.session)
    return s === "unknown"
      ? Effect.fail(refuse(404, `unknown session ${ref.session}: /create one first`))
      : s === "gone"
        ? Effect.fail(refuse(404, `session ${ref.session} is closed or expired (sessions expire after ${idleText} without a request)`))
        : Effect.succeed(s)
  }

  const validActions = (s: Session): ReadonlyArray<string> => (s.done ? undefined : s.episode?.validActions()) ?? []

  return HttpRouter.use((router) =>
    Effect.all([
      router.add("GET", "/", HttpServerResponse.text("ok")),
      router.add("POST", "/create", (request) =>
        answer(Effect.gen(function*() {
          yield* parsed(AgentGymRequest.create(yield* text(request)))
          const now = yield* Clock.currentTimeMillis
          const id = sessions.create(now, { episode: undefined, observation: "", done: false })
          if (id === undefined) {
            return yield* refuse(429, `too many open sessions (${maxSessions}): close some, or wait for idle ones to expire after ${idleText}`)
          }
          return HttpServerResponse.jsonUnsafe(createReply === "integer" ? id : { id, env_idx: id, observation: "" })
        }))),
      router.add("POST", "/reset", (request) =>
        answer(Effect.gen(function*() {
          const r = yield* parsed(AgentGymRequest.reset(yield* text(request), { worldSeed: options.worldSeed }))
          const s = yield* lookup(yield* Clock.currentTimeMillis, r)
          const taskId = `${options.split}:${r.task}`
          const bad = checkTask(sim, taskId)
          if (bad !== undefined) return yield* refuse(400, `${r.taskField} ${r.task}: ${bad.message}`)
          s.episode = sim.start(taskId)
          s.done = false
          const e = s.episode.episode
          s.observation = e.observation
          return HttpServerResponse.jsonUnsafe({
            id: r.session,
            env_idx: r.session,
            task_id: taskId,
            observation: e.observation,
            instruction: e.instruction,
            max_steps: e.maxSteps,
            available_actions: validActions(s),
            // SciWorld's client shows task_description + "\n" + observation; our observations already state the task.
            task_description: "",
            reward: 0,
            score: 0,
            done: false
          })
        }))),
      router.add("POST", "/step", (request) =>
        answer(Effect.gen(function*() {
          const r = yield* parsed(AgentGymRequest.step(yield* text(request)))
          const s = yield* lookup(yield* Clock.currentTimeMillis, r)
          if (s.episode === undefined) return yield* refuse(409, "reset the session before stepping it")
          // After done the episode is over: the final observation again, reward 0 (a client summing rewards counts it once).
          const result = s.done ? { observation: s.observation, reward: 0, done: true } : s.episode.step(r.action)
          s.observation = result.observation
          s.done = result.done
          return HttpServerResponse.jsonUnsafe({
            observation: result.observation,
            state: result.observation,
            reward: result.reward,
            score: result.reward,
            done: result.done,
            terminated: result.done,
            available_actions: validActions(s)
          })
        }))),
      router.add("GET", "/observation", (request) =>
        answer(Effect.gen(function*() {
          const r = yield* parsed(AgentGymRequest.observation(new URL(request.url, "http://localhost").searchParams))
          const s = yield* lookup(yield* Clock.currentTimeMillis, r)
          return HttpServerResponse.jsonUnsafe(s.observation)
        }))),
      router.add("POST", "/close", (request) =>
        answer(Effect.gen(function*() {
          const r = yield* parsed(AgentGymRequest.close(yield* text(request)))
          const now = yield* Clock.currentTimeMillis
          // Closing is idempotent for numbers the server handed out (a retried close, or one after expiry, is fine).
          if (!sessions.close(now, r.session) && sessions.get(now, r.session) === "unknown") {
            return yield* refuse(404, `unknown session ${r.session}`)
          }
          return HttpServerResponse.jsonUnsafe({ closed: true })
        }))),
      router.add("*", "*", (request) =>
        Effect.succeed(HttpServerResponse.jsonUnsafe({ error: `no route ${request.method} ${new URL(request.url, "http://localhost").pathname}` }, { status: 404 })))
    ])
  )
}

/** The server as a layer listening on host:port (port 0 picks a free one). */
export const layer = (sim: Simulator, options: ServerOptions & { readonly port: number; readonly host: string }) =>
  HttpRouter.serve(routes(sim, options), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(NodeServer.make, { port: options.port, host: options.host }))
  )
