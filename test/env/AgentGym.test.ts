import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer } from "effect"
import { HttpServer } from "effect/http"
import * as AgentGymClient from "../../src/env/AgentGymClient.ts"
import * as AgentGymServer from "../../src/env/AgentGymServer.ts"
import { Env } from "../../src/env/Env.ts"
import * as Registry from "../../src/env/Registry.ts"

/** Starts the real server on a free loopback port for the test's scope; returns its base URL. */
const serve = (name: Registry.Name, maxSessions?: number) =>
  Effect.gen(function*() {
    const sim = Registry.make(name, 0)
    const ctx = yield* Layer.build(AgentGymServer.layer(sim, { split: "test", port: 0, host: "127.0.0.1", ...(maxSessions === undefined ? {} : { maxSessions }) }))
    const server = Context.get(ctx, HttpServer.HttpServer)
    const port = "port" in server.address ? server.address.port : 0
    return { url: `http://127.0.0.1:${port}`, sim }
  })

const post = async (url: string, body: string) => {
  const r = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } })
  return { status: r.status, json: (await r.json()) as Record<string, unknown> }
}

/** Replays the expert of a task through the HTTP client: the reward at the end. */
const replay = (sim: ReturnType<typeof Registry.make>, taskId: string) =>
  Effect.gen(function*() {
    const env = yield* Env
    const session = yield* env.open
    const episode = yield* session.reset(taskId)
    assert.strictEqual(episode.observation, sim.start(taskId).episode.observation)
    let reward = 0
    for (const action of sim.expert(taskId)) {
      const r = yield* session.step(action)
      reward = r.reward
      if (r.done) break
    }
    yield* session.close
    return reward
  })

describe("AgentGym server and client", () => {
  for (const name of Registry.names) {
    it.live(`${name}: the expert replayed over HTTP reaches reward 1 on every test task`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { sim, url } = yield* serve(name)
        const n = sim.size("test")
        const rewards = yield* Effect.forEach(
          Array.from({ length: n }, (_, i) => `test:${i}`),
          (task) => replay(sim, task),
          { concurrency: 32 }
        ).pipe(Effect.provide(AgentGymClient.layer({ baseUrl: url, env: name })))
        assert.strictEqual(rewards.filter((r) => r === 1).length, n)
      })), 120_000)
  }

  it.live("bad bodies, missing fields and unknown ids get a 4xx JSON error; the server goes on", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* serve("qa")
      const results = yield* Effect.promise(async () => {
        const out: Array<{ status: number; json: Record<string, unknown> }> = []
        out.push(await post(`${url}/step`, "{not json"))
        out.push(await post(`${url}/step`, JSON.stringify({ id: 0 })))
        out.push(await post(`${url}/step`, JSON.stringify({ id: 12345, action: "look" })))
        out.push(await post(`${url}/reset`, JSON.stringify({ id: "zero", data_idx: 0 })))
        const created = await post(`${url}/create`, "")
        out.push(await post(`${url}/step`, JSON.stringify({ id: created.json.id, action: "search[x]" }))) // not reset yet
        out.push(await post(`${url}/reset`, JSON.stringify({ id: created.json.id, data_idx: 10 ** 9 })))
        const obs = await fetch(`${url}/observation?id=abc`)
        out.push({ status: obs.status, json: (await obs.json()) as Record<string, unknown> })
        const ok = await post(`${url}/reset`, JSON.stringify({ env_idx: created.json.id, data_idx: 1 }))
        out.push(ok)
        return out
      })
      const statuses = results.map((r) => r.status)
      assert.deepStrictEqual(statuses, [400, 400, 404, 400, 409, 400, 400, 200])
      for (const r of results.slice(0, -1)) assert.isString(r.json.error)
      assert.isString(results.at(-1)!.json.observation)
    })))

  it.live("1,000 concurrent sessions", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sim, url } = yield* serve("shop")
      const rewards = yield* Effect.forEach(
        Array.from({ length: 1000 }, (_, i) => i),
        (i) =>
          Effect.gen(function*() {
            const env = yield* Env
            const session = yield* env.open
            const task = `test:${i % sim.size("test")}`
            yield* session.reset(task)
            const r = yield* session.step(sim.expert(task)[0]!)
            return r.done ? 1 : 0
          }),
        { concurrency: 1000 }
      ).pipe(Effect.provide(AgentGymClient.layer({ baseUrl: url, env: "shop" })))
      assert.strictEqual(rewards.length, 1000)
    })), 60_000)
})

/** A real HTTP server on loopback that misbehaves in a chosen way. */
const faulty = (behaviour: "500" | "slow" | "hangup" | "flaky") =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ url: string; server: Http.Server; hits: () => number }>((resolve) => {
        let hits = 0
        const server = Http.createServer((req, res) => {
          hits++
          if (behaviour === "500") {
            res.writeHead(500).end("boom")
          } else if (behaviour === "slow") {
            setTimeout(() => res.writeHead(200).end(JSON.stringify({ id: 1 })), 2_000)
          } else if (behaviour === "hangup") {
            req.socket.destroy()
          } else {
            // flaky: the first two requests fail with 503, then it answers
            if (hits <= 2) res.writeHead(503).end("busy")
            else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: 7 }))
          }
        })
        server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits: () => hits }))
      })
    ),
    ({ server }) => Effect.promise(() => new Promise<void>((r) => server.close(() => r())))
  )

const openWith = (options: AgentGymClient.ClientOptions) =>
  Effect.gen(function*() {
    const env = yield* Env
    return yield* env.open
  }).pipe(Effect.provide(AgentGymClient.layer(options)))

describe("AgentGym client faults", () => {
  const fast = { env: "remote", retries: 2, backoff: Duration.millis(10), timeout: Duration.millis(300) }
  it.live("a server that is down: Unreachable after the retries", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(openWith({ ...fast, baseUrl: "http://127.0.0.1:1" }))
      assert.isTrue(Exit.isFailure(exit))
      const e = yield* Effect.flip(openWith({ ...fast, baseUrl: "http://127.0.0.1:1" }))
      assert.strictEqual(e.reason, "Unreachable")
    }))
  it.live("a slow server: Timeout", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* faulty("slow")
      const e = yield* Effect.flip(openWith({ ...fast, baseUrl: url, retries: 0 }))
      assert.strictEqual(e.reason, "Timeout")
    })))
  it.live("500s: ServerError after retrying", () =>
    Effect.scoped(Effect.gen(function*() {
      const { hits, url } = yield* faulty("500")
      const e = yield* Effect.flip(openWith({ ...fast, baseUrl: url }))
      assert.strictEqual(e.reason, "ServerError")
      assert.strictEqual(hits(), 3)
    })))
  it.live("connections closed mid-request: Unreachable", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* faulty("hangup")
      const e = yield* Effect.flip(openWith({ ...fast, baseUrl: url }))
      assert.strictEqual(e.reason, "Unreachable")
    })))
  it.live("transient 503s are retried through", () =>
    Effect.scoped(Effect.gen(function*() {
      const { hits, url } = yield* faulty("flaky")
      yield* openWith({ ...fast, baseUrl: url })
      assert.strictEqual(hits(), 3)
    })))
})
