import { Console, Duration, Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"
import { HttpServer } from "effect/http"
import * as AgentGymServer from "../env/AgentGymServer.ts"
import * as OpenEnvServer from "../env/OpenEnvServer.ts"
import * as Registry from "../env/Registry.ts"
import * as EnvFlags from "./EnvFlags.ts"
import * as ListenError from "./ListenError.ts"
import * as UserError from "./UserError.ts"

const positive = (name: string, n: number) => n > 0 ? Effect.void : UserError.fail(`--${name} must be a positive integer, got ${n}`)

/**
 * `stepagent env serve --env E --port P [--protocol agentgym|openenv] [--host 127.0.0.1] [--split test]`: a built-in
 * environment over AgentGym's HTTP protocol (default) or OpenEnv's HTTP + WebSocket protocol.
 */
export const command = Command.make("serve", {
  env: EnvFlags.env,
  protocol: Flag.Literals("protocol", ["agentgym", "openenv"]).pipe(
    Flag.withDescription("agentgym (POST /create, /reset, /step, /close: AgentGym's clients; default) or openenv (/health, /metadata, /schema, /reset, /step, /state and WebSocket sessions on /ws: OpenEnv's clients)"),
    Flag.withDefault("agentgym" as const)
  ),
  seed: EnvFlags.seed,
  port: Flag.Int("port").pipe(Flag.withDescription("TCP port, 0 to 65535 (0 picks a free one)")),
  host: Flag.String("host").pipe(Flag.withDescription("address to listen on (default 127.0.0.1: loopback only)"), Flag.withDefault("127.0.0.1")),
  split: Flag.Literals("split", ["train", "test"]).pipe(Flag.withDescription("which split a reset's task index points into (default test: servers are for evaluation)"), Flag.withDefault("test" as const)),
  createReply: Flag.Literals("create-reply", ["object", "integer"]).pipe(
    Flag.withDescription("agentgym only: what POST /create answers: object {id, env_idx} (AgentGym's ALFWorld, BabyAI, SciWorld, TextCraft, Maze, WebArena clients; stepagent's) or integer (AgentGym's WebShop, SQLGym, SearchQA and tool clients). Default object"),
    Flag.withDefault(AgentGymServer.defaults.createReply)
  ),
  idleTimeoutSeconds: Flag.Int("idle-timeout-seconds").pipe(
    Flag.withDescription("drop a session after this many seconds without a request (default 1800: far longer than one policy reply, short enough that a crashed run's sessions come back)"),
    Flag.withDefault(Duration.toSeconds(AgentGymServer.defaults.idleTimeout))
  ),
  maxBodyBytes: Flag.Int("max-body-bytes").pipe(
    Flag.withDescription("largest request body (larger ones get 413) and, with openenv, WebSocket message (larger ones close the connection with 1009) (default 1048576: hundreds of times the largest real action)"),
    Flag.withDefault(AgentGymServer.defaults.maxBodyBytes)
  )
}, ({ createReply, env, host, idleTimeoutSeconds, maxBodyBytes, port, protocol, seed, split }) =>
  Effect.gen(function*() {
    yield* ListenError.checkPort(port)
    yield* ListenError.checkHost(host)
    yield* positive("idle-timeout-seconds", idleTimeoutSeconds)
    yield* positive("max-body-bytes", maxBodyBytes)
    const sim = Registry.make(env, seed)
    // The first line on stdout is the URL actually bound (useful with --port 0).
    const announce = Layer.effectDiscard(Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      const bound = "port" in server.address ? server.address.port : port
      const authority = host.includes(":") ? `[${host}]` : host
      yield* Console.log(JSON.stringify({ url: `http://${authority}:${bound}`, env, split, tasks: sim.size(split), protocol }))
    }))
    const limits = { split, worldSeed: seed, port, host, idleTimeout: Duration.seconds(idleTimeoutSeconds), maxBodyBytes }
    const server = protocol === "openenv" ? OpenEnvServer.layer(sim, limits) : AgentGymServer.layer(sim, { ...limits, createReply })
    yield* Layer.launch(announce.pipe(Layer.provideMerge(server))).pipe(
      Effect.catchTag("ServeError", ListenError.onServeError(host, port))
    )
  })).pipe(Command.withDescription("Serve a built-in environment over AgentGym's HTTP protocol or OpenEnv's (--protocol openenv)"))
