import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Stream } from "effect"
import { HttpServer } from "effect/http"
import * as AgentGymClient from "../../src/env/AgentGymClient.ts"
import * as AgentGymServer from "../../src/env/AgentGymServer.ts"
import * as Builtin from "../../src/env/Builtin.ts"
import { Env } from "../../src/env/Env.ts"
import * as Registry from "../../src/env/Registry.ts"
import * as SpreadEnv from "../../src/env/SpreadEnv.ts"
import * as Metrics from "../../src/metrics/Metrics.ts"
import * as Environment from "../../src/pipeline/Environment.ts"
import * as Evaluate from "../../src/stages/Evaluate.ts"

const sim = Registry.make("qa", 0)

/** A real AgentGym server on a free loopback port, for the test's scope; its base URL. */
const server = Effect.gen(function*() {
  const ctx = yield* Layer.build(AgentGymServer.layer(sim, { split: "test", worldSeed: 0, port: 0, host: "127.0.0.1" }))
  const s = Context.get(ctx, HttpServer.HttpServer)
  return `http://127.0.0.1:${"port" in s.address ? s.address.port : 0}`
})

/** The built-in environment with its sessions counted. */
const counted = () => {
  let opened = 0
  const env = Effect.runSync(Effect.map(Layer.build(Builtin.layer(sim)).pipe(Effect.scoped), (ctx) => Context.get(ctx, Env)))
  return { env: Env.of({ ...env, open: Effect.suspend(() => (opened++, env.open)) }), opened: () => opened }
}

describe("several environment servers (--env-url URL1,URL2)", () => {
  it("urls: one, several, spaces and empty parts", () => {
    assert.deepStrictEqual(SpreadEnv.urls("http://a:1"), ["http://a:1"])
    assert.deepStrictEqual(SpreadEnv.urls(" http://a:1 , http://b:2,,"), ["http://a:1", "http://b:2"])
    assert.strictEqual(Environment.urlProblem(",", "agentgym"), `"," names no server`)
    assert.match(Environment.urlProblem("http://a:1,ws://b:2", "agentgym") ?? "", /^ws:\/\/b:2 is a WebSocket URL/)
  })

  it.effect("sessions go to the servers in turn; a server that refuses is passed over", () =>
    Effect.gen(function*() {
      const [a, b] = [counted(), counted()]
      const env = SpreadEnv.spread([a.env, b.env])
      for (let i = 0; i < 10; i++) yield* Effect.flatMap(env.open, (s) => s.close)
      assert.deepStrictEqual([a.opened(), b.opened()], [5, 5])
      // a server that is not there (a closed port: a real client's refused connection) and a real one
      const down = yield* Effect.map(Layer.build(AgentGymClient.layer({ baseUrl: "http://127.0.0.1:1", env: "qa", retries: 0 })), (ctx) => Context.get(ctx, Env))
      const c = counted()
      const mixed = SpreadEnv.spread([down, c.env])
      for (let i = 0; i < 4; i++) yield* Effect.flatMap(mixed.open, (s) => s.close)
      assert.strictEqual(c.opened(), 4)
      // none there: the open fails
      const none = yield* Effect.exit(SpreadEnv.spread([down, down]).open)
      assert.isTrue(none._tag === "Failure")
    }).pipe(Effect.scoped))

  it.effect("an evaluation over two real servers gives the built-in environment's episodes", () =>
    Effect.gen(function*() {
      const url = `${yield* server},${yield* server}`
      const cfg: Evaluate.Config = { ...Evaluate.defaults, policy: "expert", parallel: 4 }
      const run = (layer: Layer.Layer<Env>) =>
        Evaluate.tasks("test", 12).pipe(
          Evaluate.evaluate(cfg, { seed: 0, iteration: 0 }, { expert: (t) => sim.expert(t) }),
          Stream.runCollect,
          Effect.map((es) => Array.from(es).map((e) => [e.taskId, e.reward, e.steps, e.termination])),
          Effect.provide(Layer.merge(layer, Metrics.layerNone))
        )
      const spread = yield* run(Environment.envLayer({ env: { name: "qa", seed: 0, url }, render: { instruction: "keep" } }))
      const builtin = yield* run(Environment.envLayer({ env: { name: "qa", seed: 0 }, render: { instruction: "keep" } }, sim))
      assert.deepStrictEqual(spread, builtin)
      assert.isTrue(spread.every(([, reward]) => reward === 1))
    }).pipe(Effect.scoped))
})
