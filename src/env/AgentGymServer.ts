import * as Http from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Split } from "../domain/TaskId.ts"
import { checkTask } from "./Builtin.ts"
import type { SimEpisode, Simulator } from "./Simulator.ts"

/**
 * An HTTP server speaking AgentGym's environment protocol over a built-in simulator:
 *   POST /create                     -> {"id": n}                (also `env_idx`, as WebShop's server names it)
 *   POST /reset {"id", "data_idx"}   -> {"observation", "id", "task_id", "instruction", "max_steps"}
 *   POST /step  {"id", "action"}     -> {"observation", "reward", "done"}
 *   GET  /observation?id=n           -> {"observation"}
 *   POST /close {"id"}               -> {"closed": true}
 *   GET  /                           -> "ok"
 * `data_idx` is the index within the server's split. Requests may name the session `id` or `env_idx`.
 * Unknown ids and bad bodies get a 4xx with `{"error": "..."}`; nothing a client sends crashes the server.
 */
export interface ServerOptions {
  readonly split: Split
  /** Sessions open at once; /create beyond it answers 429. Default 10,000: far above the 1,000 concurrent sessions tested. */
  readonly maxSessions?: number
}

interface Session {
  episode: SimEpisode | undefined
  observation: string
}

const SessionRef = Schema.Struct({
  id: Schema.optionalKey(Schema.Int),
  env_idx: Schema.optionalKey(Schema.Int)
})
const ResetBody = Schema.Struct({ ...SessionRef.fields, data_idx: Schema.optionalKey(Schema.Int), idx: Schema.optionalKey(Schema.Int) })
const StepBody = Schema.Struct({ ...SessionRef.fields, action: Schema.String })

const error = (status: number, message: string) => HttpServerResponse.jsonUnsafe({ error: message }, { status })

/** Reads and decodes a JSON body; a 400 response describes what was wrong. */
const body = <A>(request: HttpServerRequest.HttpServerRequest, schema: Schema.ConstraintDecoder<A, never>) =>
  request.text.pipe(
    Effect.mapError(() => error(400, "could not read the request body")),
    Effect.flatMap((text) =>
      Effect.try({ try: () => JSON.parse(text === "" ? "{}" : text) as unknown, catch: () => error(400, "the body is not valid JSON") })
    ),
    Effect.flatMap((json) =>
      Schema.decodeUnknownEffect(schema)(json).pipe(
        Effect.mapError((e) => error(400, `bad request body: ${e.message.split("\n").join(" ")}`))
      )
    )
  )

export const routes = (sim: Simulator, options: ServerOptions) => {
  const sessions = new Map<number, Session>()
  let nextId = 0
  const maxSessions = options.maxSessions ?? 10_000

  const lookup = (ref: { readonly id?: number; readonly env_idx?: number }): Effect.Effect<readonly [number, Session], HttpServerResponse.HttpServerResponse> => {
    const id = ref.id ?? ref.env_idx
    if (id === undefined) return Effect.fail(error(400, "missing field id (or env_idx)"))
    const s = sessions.get(id)
    return s === undefined ? Effect.fail(error(404, `unknown id ${id}`)) : Effect.succeed([id, s] as const)
  }

  const handle = (effect: Effect.Effect<HttpServerResponse.HttpServerResponse, HttpServerResponse.HttpServerResponse>) =>
    Effect.catch(effect, (response) => Effect.succeed(response))

  return HttpRouter.use((router) =>
    Effect.all([
      router.add("GET", "/", HttpServerResponse.text("ok")),
      router.add("POST", "/create", () =>
        Effect.sync(() => {
          if (sessions.size >= maxSessions) return error(429, `too many sessions (${maxSessions}); close some first`)
          const id = nextId++
          sessions.set(id, { episode: undefined, observation: "" })
          return HttpServerResponse.jsonUnsafe({ id, env_idx: id })
        })),
      router.add("POST", "/reset", (request) =>
        handle(Effect.gen(function*() {
          const b = yield* body(request, ResetBody)
          const [id, s] = yield* lookup(b)
          const index = b.data_idx ?? b.idx ?? 0
          const taskId = `${options.split}:${index}`
          const bad = checkTask(sim, taskId)
          if (bad !== undefined) return error(400, `data_idx ${index}: ${bad.message}`)
          s.episode = sim.start(taskId)
          s.observation = s.episode.episode.observation
          const e = s.episode.episode
          return HttpServerResponse.jsonUnsafe({
            id,
            observation: e.observation,
            task_id: taskId,
            instruction: e.instruction,
            max_steps: e.maxSteps
          })
        }))),
      router.add("POST", "/step", (request) =>
        handle(Effect.gen(function*() {
          const b = yield* body(request, StepBody)
          const [, s] = yield* lookup(b)
          if (s.episode === undefined) return error(409, "reset the session before stepping it")
          const r = s.episode.step(b.action)
          s.observation = r.observation
          return HttpServerResponse.jsonUnsafe({ observation: r.observation, reward: r.reward, done: r.done })
        }))),
      router.add("GET", "/observation", (request) =>
        handle(Effect.gen(function*() {
          const params = new URL(request.url, "http://localhost").searchParams
          const raw = params.get("id") ?? params.get("env_idx")
          const id = raw === null || !/^\d+$/.test(raw) ? undefined : Number(raw)
          if (id === undefined) return error(400, "query parameter id must be a non-negative integer")
          const [, s] = yield* lookup({ id })
          return HttpServerResponse.jsonUnsafe({ observation: s.observation })
        }))),
      router.add("POST", "/close", (request) =>
        handle(Effect.gen(function*() {
          const b = yield* body(request, SessionRef)
          const [id] = yield* lookup(b)
          sessions.delete(id)
          return HttpServerResponse.jsonUnsafe({ closed: true })
        })))
    ])
  )
}

/** The server as a layer listening on host:port (port 0 picks a free one). */
export const layer = (sim: Simulator, options: ServerOptions & { readonly port: number; readonly host: string }) =>
  HttpRouter.serve(routes(sim, options), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: options.port, host: options.host }))
  )
