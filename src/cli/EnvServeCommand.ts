import { Console, Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"
import { HttpServer } from "effect/http"
import * as AgentGymServer from "../env/AgentGymServer.ts"
import * as Registry from "../env/Registry.ts"
import * as EnvFlags from "./EnvFlags.ts"

/** `stepagent env serve --env E --port P [--host 127.0.0.1] [--split test]`: an AgentGym-compatible HTTP server. */
export const command = Command.make("serve", {
  env: EnvFlags.env,
  seed: EnvFlags.seed,
  port: Flag.Int("port").pipe(Flag.withDescription("TCP port (0 picks a free one)")),
  host: Flag.String("host").pipe(Flag.withDescription("address to listen on (default 127.0.0.1: loopback only)"), Flag.withDefault("127.0.0.1")),
  split: Flag.Literals("split", ["train", "test"]).pipe(Flag.withDescription("which split data_idx indexes (default test: servers are for evaluation)"), Flag.withDefault("test" as const))
}, ({ env, host, port, seed, split }) =>
  Effect.gen(function*() {
    const sim = Registry.make(env, seed)
    // The first line on stdout is the URL actually bound (useful with --port 0).
    const announce = Layer.effectDiscard(Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      const bound = "port" in server.address ? server.address.port : port
      yield* Console.log(JSON.stringify({ url: `http://${host}:${bound}`, env, split, tasks: sim.size(split) }))
    }))
    yield* Layer.launch(announce.pipe(Layer.provideMerge(AgentGymServer.layer(sim, { split, port, host }))))
  })).pipe(Command.withDescription("Serve a built-in environment over AgentGym's HTTP protocol"))
