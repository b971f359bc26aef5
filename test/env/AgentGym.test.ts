import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer } from "effect"
import { HttpServer } from "effect/http"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as AgentGymClient from "../../src/env/AgentGymClient.ts"
import * as AgentGymServer from "../../src/env/AgentGymServer.ts"
import { Env } from "../../src/env/Env.ts"
import * as Registry from "../../src/env/Registry.ts"

/** Starts the real server on a free loopback port for the test's scope; returns its base URL. */
const serve = (name: Registry.Name, options: Partial<AgentGymServer.ServerOptions> = {}) =>
  Effect.gen(function*() {
    const sim = Registry.make(name, 0)
    const ctx = yield* Layer.build(AgentGymServer.layer(sim, { split: "test", worldSeed: 0, port: 0, host: "127.0.0.1", ...options }))
    const server = Context.get(ctx, HttpServer.HttpServer)
    const port = "port" in server.address ? server.address.port : 0
    return { url: `http://127.0.0.1:${port}`, sim }
  })

const post = async (url: string, body: string) => {
  const r = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } })
  return { status: r.status, json: (await r.json()) as Record<string, unknown> }
}
const postJson = (url: string, body: unknown) => post(url, JSON.stringify(body))

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

  it.live("a restarted server does not answer to the ids its previous life handed out", () =>
    Effect.gen(function*() {
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const { url } = yield* serve("qa")
        const created = yield* Effect.promise(() => post(`${url}/create`, ""))
        return created.json["id"] as number
      }))
      // the same server again (as after a restart): the old id is unknown there, and its own ids start elsewhere
      yield* Effect.scoped(Effect.gen(function*() {
        const { url } = yield* serve("qa")
        const stale = yield* Effect.promise(() => postJson(`${url}/reset`, { id: first, data_idx: 0 }))
        assert.strictEqual(stale.status, 404)
        const created = yield* Effect.promise(() => post(`${url}/create`, ""))
        assert.notStrictEqual(created.json["id"], first)
        const fixed = yield* serve("qa", { firstId: 7 })
        assert.strictEqual((yield* Effect.promise(() => post(`${fixed.url}/create`, ""))).json["id"], 7)
      }))
    }))

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

  it.live("a reset that names no task, an unknown field or two tasks is refused with 400, never run as task 0", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* serve("house")
      const results = yield* Effect.promise(async () => {
        const id = (await post(`${url}/create`, "")).json.id
        const bodies: ReadonlyArray<readonly [unknown, RegExp]> = [
          [{ id }, /no task named: \/reset needs one of data_idx .*game .*session_id/],
          [{ id, task: 3 }, /unknown field "task"/],
          [{ id, data_idx: 1, game: 2 }, /the task is named twice \(data_idx and game\)/],
          [{ id, game: 2, world_type: "Embody" }, /world_type the string "Embody" is not available/],
          [{ env_idx: id, idx: 1, seed: 5 }, /seed 5 does not match this server's world seed 0/],
          [{ env_idx: id, session_id: null }, /session_id must be a non-negative integer, got null/],
          [{ env_idx: { id, env_idx: id }, session_id: 1 }, /--create-reply integer/],
          [{ id, data_idx: -1 }, /data_idx must be a non-negative integer, got -1/],
          [{ id, game: 10 ** 6 }, /game 1000000: task test:1000000 is out of range/],
          [[id, 0], /must be a JSON object, got an array/]
        ]
        return Promise.all(bodies.map(async ([body, pattern]) => ({ r: await postJson(`${url}/reset`, body), pattern })))
      })
      for (const { pattern, r } of results) {
        assert.strictEqual(r.status, 400, JSON.stringify(r.json))
        assert.match(String(r.json.error), pattern)
      }
    })))

  it.live("the task field each AgentGym client sends selects that task", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sim, url } = yield* serve("house")
      const answers = yield* Effect.promise(async () => {
        const out: Array<Record<string, unknown>> = []
        const fields: ReadonlyArray<readonly [string, number]> = [["data_idx", 3], ["game", 4], ["session_id", 5], ["item_id", 6], ["idx", 7], ["id", 8]]
        for (const [field, task] of fields) {
          const id = (await post(`${url}/create`, "")).json.id
          const session = field === "id" ? { env_idx: id } : { id }
          out.push((await postJson(`${url}/reset`, { ...session, [field]: task })).json)
        }
        return out
      })
      assert.deepStrictEqual(answers.map((a) => a.task_id), ["test:3", "test:4", "test:5", "test:6", "test:7", "test:8"])
      assert.strictEqual(answers[5]!.observation, sim.start("test:8").episode.observation)
    })))

  it.live("stepping after done answers reward 0 and done, and changes nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sim, url } = yield* serve("qa")
      const steps = yield* Effect.promise(async () => {
        const id = (await post(`${url}/create`, "")).json.id
        await postJson(`${url}/reset`, { id, data_idx: 2 })
        const out: Array<Record<string, unknown>> = []
        for (const action of [...sim.expert("test:2"), "Finish[again]", "Search[x]"]) out.push((await postJson(`${url}/step`, { id, action })).json)
        return out
      })
      const n = sim.expert("test:2").length
      assert.deepStrictEqual(steps.map((s) => s.reward), [...Array<number>(n - 1).fill(0), 1, 0, 0])
      assert.deepStrictEqual(steps.slice(n - 1).map((s) => s.done), [true, true, true])
      assert.deepStrictEqual(steps.slice(n).map((s) => s.observation), [steps[n - 1]!.observation, steps[n - 1]!.observation])
    })))

  it.effect("idle sessions expire after the idle timeout and free their slot; closed ids free theirs (TestClock)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* serve("qa", { maxSessions: 2, idleTimeout: Duration.minutes(30) })
      const create = Effect.promise(() => post(`${url}/create`, ""))
      const reset = (id: unknown) => Effect.promise(() => postJson(`${url}/reset`, { id, data_idx: 0 }))
      const a = yield* create
      const b = yield* create
      assert.deepStrictEqual([a.status, b.status, (yield* create).status], [200, 200, 429])
      assert.strictEqual((yield* Effect.promise(() => postJson(`${url}/close`, { id: a.json.id }))).status, 200)
      const c = yield* create
      assert.strictEqual(c.status, 200)
      assert.strictEqual((yield* create).status, 429)
      yield* TestClock.adjust(Duration.minutes(29))
      assert.strictEqual((yield* reset(b.json.id)).status, 200) // b is used: its idle time starts again
      yield* TestClock.adjust(Duration.minutes(2)) // c has been idle 31 minutes
      const gone = yield* reset(c.json.id)
      assert.strictEqual(gone.status, 404)
      assert.match(String(gone.json.error), /session \d+ is closed or expired \(sessions expire after 30m without a request\)/)
      assert.strictEqual((yield* create).status, 200) // c's slot is free again
      assert.strictEqual((yield* create).status, 429) // b still holds the other
      // Closing is idempotent for ids the server handed out; never-issued ids are unknown.
      assert.strictEqual((yield* Effect.promise(() => postJson(`${url}/close`, { id: c.json.id }))).status, 200)
      assert.strictEqual((yield* Effect.promise(() => postJson(`${url}/close`, { id: 999 }))).status, 404)
    })))

  it.live("a body over the size limit gets 413 with a JSON error; the server goes on", () =>
    Effect.scoped(Effect.gen(function*() {
      const big = yield* serve("qa")
      const small = yield* serve("qa", { maxBodyBytes: 1000 })
      const results = yield* Effect.promise(async () => {
        const out: Array<{ status: number; json: Record<string, unknown> }> = []
        for (const { limit, url } of [{ url: big.url, limit: 50 * 1024 * 1024 }, { url: small.url, limit: 1001 }]) {
          const id = (await post(`${url}/create`, "")).json.id
          await postJson(`${url}/reset`, { id, data_idx: 0 })
          out.push(await postJson(`${url}/step`, { id, action: "x".repeat(limit) }))
          out.push(await postJson(`${url}/step`, { id, action: "Search[x]" }))
        }
        return out
      })
      assert.deepStrictEqual(results.map((r) => r.status), [413, 200, 413, 200])
      assert.match(String(results[0]!.json.error), /larger than the limit of 1048576 bytes/)
      assert.match(String(results[2]!.json.error), /larger than the limit of 1000 bytes/)
    })), 60_000)

  it.live("random bodies on every route: always 2xx or 4xx, a 4xx always with a JSON error, and the server goes on", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* serve("shop", { maxSessions: 50, maxBodyBytes: 4096 })
      const keys = ["id", "env_idx", "data_idx", "game", "session_id", "item_id", "idx", "seed", "world_type", "action", "commands", "goal", "minecraft_dir", "__proto__", "x"]
      const value = fc.oneof(fc.integer({ min: -2, max: 600 }), fc.constant(0), fc.double(), fc.string(), fc.constant(null), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), fc.constant({ id: 0 }))
      const body = fc.oneof(
        { weight: 5, arbitrary: fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 4 }).map((o) => JSON.stringify(o)) },
        { weight: 1, arbitrary: fc.json() },
        { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
        { weight: 1, arbitrary: fc.integer({ min: 4000, max: 6000 }).map((n) => JSON.stringify({ id: 0, action: "a".repeat(n) })) }
      )
      const route = fc.constantFrom("/create", "/reset", "/step", "/close")
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(route, body, async (path, text) => {
            const r = await fetch(`${url}${path}`, { method: "POST", body: text })
            const answer = await r.text()
            if (r.status >= 500 || r.status < 200) return false
            if (r.status >= 400) {
              const json = JSON.parse(answer) as { error?: unknown }
              return typeof json.error === "string" && json.error.length > 0 && !json.error.includes("\n")
            }
            return true
          }),
          { numRuns: 400, seed: 12 }
        )
      )
      const alive = yield* Effect.promise(async () => (await fetch(`${url}/`)).status)
      assert.strictEqual(alive, 200)
    })), 60_000)

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
const faulty = (behaviour: "500" | "slow" | "hangup" | "flaky" | "notJson" | "wrongShape" | "redirect" | "truncated") =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ url: string; server: Http.Server; hits: () => number }>((resolve) => {
        let hits = 0
        const server = Http.createServer((req, res) => {
          hits++
          if (behaviour === "notJson") {
            res.writeHead(200, { "content-type": "text/html" }).end("<html>a login page</html>")
          } else if (behaviour === "wrongShape") {
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ session: "abc" }))
          } else if (behaviour === "redirect") {
            res.writeHead(307, { location: "https://elsewhere.example/create" }).end()
          } else if (behaviour === "truncated") {
            // promises 100 bytes, sends 9, and hangs up
            res.writeHead(200, { "content-type": "application/json", "content-length": "100" })
            res.write("{\"id\": 12")
            setTimeout(() => req.socket.destroy(), 20)
          } else if (behaviour === "500") {
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

describe("AgentGym client connections", () => {
  it.live("episodes one after another share one kept-alive connection; the layer's end closes it", () =>
    Effect.gen(function*() {
      let opened = 0
      let closed = 0
      const server = Http.createServer((req, res) => {
        const answers: Record<string, unknown> = {
          "/create": { id: 3 },
          "/reset": { observation: "o" },
          "/step": { observation: "o", reward: 1, done: true },
          "/close": { closed: true }
        }
        req.resume().on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answers[req.url ?? ""] ?? {})))
      })
      server.on("connection", (socket) => {
        opened++
        socket.on("close", () => closed++)
      })
      const url = yield* Effect.promise(() =>
        new Promise<string>((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)))
      )
      const episodes = yield* Effect.gen(function*() {
        const env = yield* Env
        let n = 0
        for (let i = 0; i < 5; i++) {
          const session = yield* env.open
          yield* session.reset(`test:${i}`)
          if ((yield* session.step("a")).done) n++
          yield* session.close
        }
        return n
      }).pipe(Effect.provide(AgentGymClient.layer({ baseUrl: url, env: "remote" })))
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 50)))
      yield* Effect.promise(() => new Promise<void>((r) => server.close(() => r())))
      assert.deepStrictEqual({ episodes, opened, closed }, { episodes: 5, opened: 1, closed: 1 })
    }))
})

describe("AgentGym client faults", () => {
  const fast = { env: "remote", retries: 2, backoff: Duration.millis(10), timeout: Duration.millis(300) }
  it.live("a server that is down: Unreachable after the retries", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(openWith({ ...fast, baseUrl: "http://127.0.0.1:1" }))
      assert.isTrue(Exit.isFailure(exit))
      const e = yield* Effect.flip(openWith({ ...fast, baseUrl: "http://127.0.0.1:1" }))
      assert.strictEqual(e.reason, "Unreachable")
    }))
  it.live("a base URL that is not http(s): Unreachable, naming it", () =>
    Effect.gen(function*() {
      for (const baseUrl of ["localhost:8000", "ftp://127.0.0.1:1", "http://"]) {
        const e = yield* Effect.flip(openWith({ ...fast, baseUrl }))
        assert.strictEqual(e.reason, "Unreachable")
        assert.include(e.message, `${baseUrl} is not an http:// or https:// URL`)
      }
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
  it.live("an answer that is not JSON, or not the protocol's shape, or a redirect: BadResponse at once, saying what came", () =>
    Effect.gen(function*() {
      const cases = [["notJson", /POST \/create: the answer is not JSON: <html>a login page/], ["wrongShape", /POST \/create: unexpected answer/], [
        "redirect",
        /POST \/create: HTTP 307, a redirect to https:\/\/elsewhere.example\/create/
      ]] as const
      for (const [behaviour, pattern] of cases) {
        const { e, hits } = yield* Effect.scoped(Effect.gen(function*() {
          const { hits, url } = yield* faulty(behaviour)
          return { e: yield* Effect.flip(openWith({ ...fast, baseUrl: url })), hits: hits() }
        }))
        assert.strictEqual(e.reason, "BadResponse", behaviour)
        assert.match(e.message, pattern)
        assert.strictEqual(hits, 1, `${behaviour}: not retried`)
      }
    }))
  it.live("an answer cut off mid-body: Unreachable after the retries", () =>
    Effect.scoped(Effect.gen(function*() {
      const { hits, url } = yield* faulty("truncated")
      const e = yield* Effect.flip(openWith({ ...fast, baseUrl: url }))
      assert.strictEqual(e.reason, "Unreachable")
      assert.strictEqual(hits(), 3)
    })))
  it.live("transient 503s are retried through", () =>
    Effect.scoped(Effect.gen(function*() {
      const { hits, url } = yield* faulty("flaky")
      yield* openWith({ ...fast, baseUrl: url })
      assert.strictEqual(hits(), 3)
    })))
})
