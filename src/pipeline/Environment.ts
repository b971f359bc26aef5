import { Context, Effect, Layer } from "effect"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as AgentGymClient from "../env/AgentGymClient.ts"
import * as Builtin from "../env/Builtin.ts"
import { Env } from "../env/Env.ts"
import type { EnvSpec } from "../env/EnvSpec.ts"
import * as Expert from "../env/Expert.ts"
import * as OpenEnvClient from "../env/OpenEnvClient.ts"
import * as Registry from "../env/Registry.ts"
import type { Simulator } from "../env/Simulator.ts"
import * as SpreadEnv from "../env/SpreadEnv.ts"
import type * as Pipeline from "./Pipeline.ts"

/** The built-in simulator of the pipeline's world (`env.seed`): deterministic, its episodes independent, so one serves a run. */
export const simulator = (p: Pick<Pipeline.Pipeline, "env">): Simulator => Registry.make(p.env.name, p.env.seed, p.env.expert)

/** Which protocol an environment server speaks (`env.protocol`, `eval --env-protocol`). Default agentgym. */
export type Protocol = "agentgym" | "openenv"

/** Why a server URL cannot be meant for the protocol, or undefined: a WebSocket URL is an OpenEnv server's. */
export const urlProblem = (url: string, protocol: Protocol): string | undefined => {
  const servers = SpreadEnv.urls(url)
  if (servers.length === 0) return `${JSON.stringify(url)} names no server`
  const ws = servers.find((u) => /^wss?:\/\//i.test(u))
  return protocol === "agentgym" && ws !== undefined
    ? `${ws} is a WebSocket URL: an OpenEnv server needs the openenv protocol (--env-protocol openenv, or env.protocol: "openenv")`
    : undefined
}

/**
 * The pipeline's environment: the built-in simulator (`sim`, when the caller holds it: the one its expert and split
 * sizes come from), or a server when `env.url` is set: AgentGym's protocol, or OpenEnv's with `env.protocol: "openenv"`.
 */
export const envLayer = (p: Pick<Pipeline.Pipeline, "env" | "render">, sim?: Simulator): Layer.Layer<Env> => {
  const client = (url: string) =>
    p.env.protocol === "openenv" ? OpenEnvClient.layer({ baseUrl: url, env: p.env.name }) : AgentGymClient.layer({ baseUrl: url, env: p.env.name })
  const servers = p.env.url === undefined ? [] : SpreadEnv.urls(p.env.url)
  const base = servers.length === 0
    ? Builtin.layer(sim ?? simulator(p))
    : servers.length === 1
    ? client(servers[0]!)
    // several servers: sessions spread over them (src/env/SpreadEnv.ts)
    : Layer.effect(Env, Effect.map(Effect.forEach(servers, (url) => Effect.map(Layer.build(client(url)), (ctx) => Context.get(ctx, Env))), SpreadEnv.spread))
  const spec = specOf(p)
  return Layer.effect(Env, Effect.gen(function*() {
    const env = yield* Env
    // The policy never saw the constant prompt in training: leave it out of its states in rollouts too.
    const open = p.render.instruction === "keep"
      ? env.open
      : Effect.map(env.open, (s) => ({ ...s, reset: (task: string) => Effect.map(s.reset(task), (e) => ({ ...e, instruction: "" })) }))
    return Env.of({ ...env, open, spec })
  })).pipe(Layer.provide(base))
}

/** The environment as a worker opens it (`Env.spec`): the pipeline's `env` and `render.instruction`. */
export const specOf = (p: Pick<Pipeline.Pipeline, "env" | "render">): EnvSpec => ({
  name: p.env.name,
  seed: p.env.seed,
  ...(p.env.url === undefined ? {} : { url: p.env.url }),
  ...(p.env.protocol === undefined ? {} : { protocol: p.env.protocol }),
  instruction: p.render.instruction
})

/** Expert trajectories of the first `n` held-out tasks, rendered as the pipeline renders: the action-accuracy rung. */
export const heldOutExperts = (p: Pipeline.Pipeline, sim: Simulator, n: number): Array<Trajectory> =>
  Array.from({ length: Math.min(n, sim.size("test")) }, (_, i) => Expert.trajectory(sim, `test:${i}`, { thoughts: p.data.generate?.thoughts === true, seed: p.env.seed }))
    .map((t) => p.render.instruction === "drop" ? { ...t, instruction: "" } : t)
