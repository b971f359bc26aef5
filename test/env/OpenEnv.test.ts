import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import * as AgentGymServer from "../../src/env/AgentGymServer.ts"
import * as Builtin from "../../src/env/Builtin.ts"
import { Env } from "../../src/env/Env.ts"
import * as OpenEnvClient from "../../src/env/OpenEnvClient.ts"
import * as OpenEnvProtocol from "../../src/env/OpenEnvProtocol.ts"
import * as OpenEnvServer from "../../src/env/OpenEnvServer.ts"
import * as Registry from "../../src/env/Registry.ts"
import type { Simulator } from "../../src/env/Simulator.ts"

/** Starts a real server on a free loopback port for the test's scope; returns its base URL. */
const serve = (name: Registry.Name, options: Partial<OpenEnvServer.ServerOptions> & { readonly port?: number } = {}) =>
  Effect.gen(function*() {
    const sim = Registry.make(name, 0)
    const ctx = yield* Layer.build(OpenEnvServer.layer(sim, { split: "test", worldSeed: 0, port: 0, host: "127.0.0.1", ...options }))
    const server = Context.get(ctx, HttpServer.HttpServer)
    const port = "port" in server.address ? server.address.port : 0
    return { url: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/ws`, port, sim }
  })

const serveAgentGym = (name: Registry.Name) =>
  Effect.gen(function*() {
    const sim = Registry.make(name, 0)
    const ctx = yield* Layer.build(AgentGymServer.layer(sim, { split: "test", worldSeed: 0, port: 0, host: "127.0.0.1" }))
    const server = Context.get(ctx, HttpServer.HttpServer)
    return `http://127.0.0.1:${"port" in server.address ? server.address.port : 0}`
  })

type Json = Record<string, unknown>

/**
 * A plain WebSocket client: Node's global WebSocket (undici's), nothing of ours. `send` writes a frame and resolves
 * with the next frame parsed as JSON; `next` waits for a frame; both resolve with `undefined` once the server closed.
 */
interface Raw {
  readonly send: (text: string) => Promise<Json | undefined>
  readonly next: () => Promise<Json | undefined>
  readonly close: () => void
  readonly closeCode: () => number | undefined
}
const dial = (url: string) =>
  new Promise<Raw>((resolve, reject) => {
    const ws = new WebSocket(url)
    const frames: Array<string> = []
    const waiting: Array<(frame: string | undefined) => void> = []
    let code: number | undefined
    ws.onmessage = (e) => {
      const w = waiting.shift()
      if (w !== undefined) w(String(e.data))
      else frames.push(String(e.data))
    }
    ws.onclose = (e) => {
      code = e.code
      for (const w of waiting.splice(0)) w(undefined)
    }
    ws.onerror = () => reject(new Error(`could not connect to ${url}`))
    const next = () =>
      new Promise<Json | undefined>((res) => {
        const take = (f: string | undefined) => res(f === undefined ? undefined : JSON.parse(f) as Json)
        if (frames.length > 0) take(frames.shift())
        else if (code !== undefined) take(undefined)
        else waiting.push(take)
      })
    ws.onopen = () =>
      resolve({
        send: (text) => {
          ws.send(text)
          return next()
        },
        next,
        close: () => ws.close(),
        closeCode: () => code
      })
  })

const post = async (url: string, body: string) => {
  const r = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } })
  return { status: r.status, json: (await r.json()) as Json }
}

/** The actions an episode takes in these tests: one the environment rejects, then the expert's. */
const actionsOf = (sim: Simulator, task: string) => ["this is not an action", ...sim.expert(task)]

/** The in-process episode: the first observation, then each step's observation, reward and done. */
const inProcess = (sim: Simulator, task: string) => {
  const e = sim.start(task)
  const steps: Array<{ observation: string; reward: number; done: boolean }> = []
  for (const a of actionsOf(sim, task)) {
    const r = e.step(a)
    steps.push({ observation: r.observation, reward: r.reward, done: r.done })
    if (r.done) break
  }
  return { observation: e.episode.observation, instruction: e.episode.instruction, maxSteps: e.episode.maxSteps, steps }
}

describe("OpenEnv server, with plain HTTP and WebSocket clients", () => {
  for (const name of Registry.names) {
    it.live(`${name}: an episode over each protocol equals the in-process one`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { sim, url, ws } = yield* serve(name)
        const agentgym = yield* serveAgentGym(name)
        const task = "test:7"
        const want = inProcess(sim, task)
        const actions = actionsOf(sim, task).slice(0, want.steps.length)

        // AgentGym: plain fetch
        const ag = yield* Effect.promise(async () => {
          const id = (await post(`${agentgym}/create`, "")).json.id
          const reset = (await post(`${agentgym}/reset`, JSON.stringify({ id, data_idx: 7 }))).json
          const steps: Array<Json> = []
          for (const action of actions) steps.push((await post(`${agentgym}/step`, JSON.stringify({ id, action }))).json)
          return { reset, steps }
        })
        assert.strictEqual(ag.reset.observation, want.observation)
        assert.deepStrictEqual(ag.steps.map((s) => ({ observation: s.observation, reward: s.reward, done: s.done })), want.steps)

        // OpenEnv: plain fetch for the HTTP routes, the global WebSocket for the episode
        const oe = yield* Effect.promise(async () => {
          const health = await (await fetch(`${url}/health`)).json() as Json
          const metadata = await (await fetch(`${url}/metadata`)).json() as Json
          const schema = await (await fetch(`${url}/schema`)).json() as { action: { properties: Json; required: Array<string> } }
          const httpReset = await post(`${url}/reset`, JSON.stringify({ task_id: 7 }))
          const socket = await dial(ws)
          const reset = await socket.send(JSON.stringify({ type: "reset", data: { task_id: 7, episode_id: "ep-1" } }))
          const steps: Array<Json | undefined> = []
          for (const action of actions) steps.push(await socket.send(JSON.stringify({ type: "step", data: { message: action } })))
          const state = await socket.send(JSON.stringify({ type: "state" }))
          const closed = await socket.send(JSON.stringify({ type: "close" }))
          return { health, metadata, schema, httpReset, reset, steps, state, closed, code: socket.closeCode() }
        })
        assert.deepStrictEqual(oe.health, { status: "healthy" })
        assert.strictEqual(oe.metadata.name, name)
        assert.strictEqual(oe.metadata.readme_content, sim.instruction)
        assert.deepStrictEqual(oe.schema.action.required, ["message"])
        assert.strictEqual(oe.httpReset.status, 200)
        assert.deepStrictEqual(oe.httpReset.json, { ...(oe.reset!.data as Json) })
        assert.deepStrictEqual(oe.reset, {
          type: "observation",
          data: {
            observation: {
              text: want.observation,
              available_actions: sim.start(task).validActions() ?? [],
              instruction: want.instruction,
              task_id: task,
              max_steps: want.maxSteps
            },
            reward: 0,
            done: false
          }
        })
        const got = oe.steps.map((s) => {
          assert.strictEqual(s?.type, "observation")
          const d = s!.data as { observation: { text: string }; reward: number; done: boolean }
          return { observation: d.observation.text, reward: d.reward, done: d.done }
        })
        assert.deepStrictEqual(got, want.steps)
        assert.deepStrictEqual(oe.state, { type: "state", data: { episode_id: "ep-1", step_count: want.steps.length, task_id: task, max_steps: want.maxSteps, done: true } })
        assert.isUndefined(oe.closed) // {"type": "close"}: no answer, the server closes the connection
        assert.strictEqual(oe.code, 1000)
        assert.strictEqual(want.steps.at(-1)!.reward, 1)
      })), 60_000)
  }

  it.live("a reset names its task by index, full task id or not at all (the session's next: 0, 1, ...); a seed must be the server's", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sim, ws } = yield* serve("qa")
      const replies = yield* Effect.promise(async () => {
        const s = await dial(ws)
        const out: Array<Json | undefined> = []
        for (const data of [{}, { task_id: 4, seed: 0 }, { task_id: "train:12" }, {}, { task_id: null, seed: null }, { seed: 3 }, { task_id: 500 }, { task_id: "test:x" }, { task_id: -1 }, { task: 1 }]) {
          out.push(await s.send(JSON.stringify({ type: "reset", data })))
        }
        s.close()
        return out
      })
      const tasks = replies.slice(0, 5).map((r) => ((r!.data as Json).observation as Json).task_id)
      assert.deepStrictEqual(tasks, ["test:0", "test:4", "train:12", "test:1", "test:2"])
      assert.strictEqual(((replies[2]!.data as Json).observation as Json).text, sim.start("train:12").episode.observation)
      const errors = replies.slice(5).map((r) => r!.data as { message: string; code: string })
      assert.deepStrictEqual(errors.map((e) => e.code), ["EXECUTION_ERROR", "EXECUTION_ERROR", "EXECUTION_ERROR", "VALIDATION_ERROR", "VALIDATION_ERROR"])
      assert.match(errors[0]!.message, /seed 3 does not match this server's world seed 0/)
      assert.match(errors[1]!.message, /task_id 500: task test:500 is out of range: the test split has 500 tasks/)
      assert.match(errors[2]!.message, /task_id "test:x": task id "test:x" is not <train\|test>:<index>/)
      assert.match(errors[4]!.message, /Invalid reset data: Expected no excess property at \["task"\]/)
    })))

  it.live("bad messages get one error frame each (bad JSON, unknown type, missing action, step before reset) and the session goes on", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sim, ws } = yield* serve("shop")
      const replies = yield* Effect.promise(async () => {
        const s = await dial(ws)
        const out: Array<Json | undefined> = []
        for (
          const frame of [
            "{not json",
            JSON.stringify({ type: "dance" }),
            JSON.stringify({ data: {} }),
            JSON.stringify([1, 2]),
            JSON.stringify({ type: "step" }),
            JSON.stringify({ type: "step", data: {} }),
            JSON.stringify({ type: "step", data: { message: 3 } }),
            JSON.stringify({ type: "step", data: { message: "search[x]", extra: 1 } }),
            JSON.stringify({ type: "step", data: { message: "search[x]" } }),
            JSON.stringify({ type: "state", data: {} }),
            JSON.stringify({ type: "mcp", data: { method: "tools/list" } }),
            JSON.stringify({ type: "reset", data: { task_id: 0 } }),
            JSON.stringify({ type: "step", data: { message: sim.expert("test:0")[0]! } })
          ]
        ) out.push(await s.send(frame))
        s.close()
        return out
      })
      const codes = replies.map((r) => r!.type === "error" ? (r!.data as Json).code : r!.type)
      assert.deepStrictEqual(codes, [
        "INVALID_JSON",
        "UNKNOWN_TYPE",
        "UNKNOWN_TYPE",
        "VALIDATION_ERROR",
        "VALIDATION_ERROR",
        "VALIDATION_ERROR",
        "VALIDATION_ERROR",
        "VALIDATION_ERROR",
        "EXECUTION_ERROR",
        "VALIDATION_ERROR",
        "UNKNOWN_TYPE",
        "observation",
        "observation"
      ])
      const messages = replies.slice(0, 11).map((r) => String((r!.data as Json).message))
      assert.match(messages[1]!, /^Unknown message type: "dance" \(expected reset, step, state or close\)$/)
      assert.match(messages[4]!, /Missing key at \["data"\]/)
      assert.match(messages[5]!, /^Invalid action: Missing key at \["message"\]$/)
      assert.match(messages[8]!, /^step before reset/)
      for (const m of messages) assert.notInclude(m, "\n")
      assert.strictEqual((((replies.at(-1)!.data as Json).observation) as Json).text, sim.start("test:0").step(sim.expert("test:0")[0]!).observation)
    })))

  it.live("random frames: every one answered by one frame (an observation, a state or a one-line error with openenv-core's codes), and the connection goes on", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sim, ws } = yield* serve("house", { maxBodyBytes: 64 * 1024 })
      const codes = new Set<string>(OpenEnvProtocol.ErrorCode.literals)
      const value = fc.oneof(fc.string({ maxLength: 30 }), fc.integer({ min: -3, max: 600 }), fc.double(), fc.constant(null), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }))
      const data = fc.oneof(
        fc.dictionary(fc.constantFrom("message", "metadata", "task_id", "seed", "episode_id", "x", "__proto__"), value, { maxKeys: 3 }),
        value
      )
      const message = fc.record({ type: fc.constantFrom("reset", "step", "state", "mcp", "", "Reset", 7), data }, { requiredKeys: [] })
      const frame = fc.oneof(
        { weight: 6, arbitrary: message.map((m) => JSON.stringify(m)) },
        { weight: 1, arbitrary: fc.json() },
        { weight: 1, arbitrary: fc.string({ maxLength: 60 }) }
      )
      const socket = yield* Effect.promise(() => dial(ws))
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(frame, async (text) => {
            const reply = await socket.send(text)
            if (reply === undefined) return false
            if (reply.type === "observation" || reply.type === "state") return true
            const d = reply.data as { message?: unknown; code?: unknown }
            return reply.type === "error" && typeof d.message === "string" && d.message.length > 0 && !d.message.includes("\n") &&
              !d.message.includes("    at ") && typeof d.code === "string" && codes.has(d.code)
          }),
          { numRuns: 500, seed: 15 }
        )
      )
      const after = yield* Effect.promise(async () => {
        await socket.send(JSON.stringify({ type: "reset", data: { task_id: 3 } }))
        return socket.send(JSON.stringify({ type: "step", data: { message: sim.expert("test:3")[0]! } }))
      })
      assert.strictEqual(((after!.data as Json).observation as Json).text, sim.start("test:3").step(sim.expert("test:3")[0]!).observation)
      socket.close()
    })), 60_000)

  it.live("too many sessions: a CAPACITY_REACHED error and the connection closed; the open sessions go on, and a closed one frees its slot", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ws } = yield* serve("qa", { maxSessions: 2 })
      const r = yield* Effect.promise(async () => {
        const a = await dial(ws)
        const b = await dial(ws)
        await a.send(JSON.stringify({ type: "reset", data: {} }))
        await b.send(JSON.stringify({ type: "reset", data: {} }))
        const c = await dial(ws)
        const refused = await c.next()
        const afterRefusal = await c.next()
        const stillA = await a.send(JSON.stringify({ type: "state" }))
        await b.send(JSON.stringify({ type: "close" }))
        const d = await dial(ws)
        const dReset = await d.send(JSON.stringify({ type: "reset", data: {} }))
        a.close()
        d.close()
        return { refused, afterRefusal, code: c.closeCode(), stillA, dReset }
      })
      assert.deepStrictEqual(r.refused, {
        type: "error",
        data: { message: "Server at capacity: 2 of 2 sessions open; close one, or wait for idle ones to be closed after 30m", code: "CAPACITY_REACHED", active_sessions: 2, max_sessions: 2 }
      })
      assert.isUndefined(r.afterRefusal)
      assert.strictEqual(r.code, 1000)
      assert.strictEqual(r.stillA!.type, "state")
      assert.strictEqual(r.dReset!.type, "observation")
    })))

  it.live("a message over the size limit closes its connection with 1009; the server goes on", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ws } = yield* serve("qa", { maxBodyBytes: 1000 })
      const r = yield* Effect.promise(async () => {
        const a = await dial(ws)
        await a.send(JSON.stringify({ type: "reset", data: {} }))
        const big = await a.send(JSON.stringify({ type: "step", data: { message: "x".repeat(2000) } }))
        await new Promise((res) => setTimeout(res, 50))
        const b = await dial(ws)
        const ok = await b.send(JSON.stringify({ type: "step", data: { message: "x".repeat(900) } }))
        b.close()
        return { big, code: a.closeCode(), ok }
      })
      assert.isUndefined(r.big)
      assert.strictEqual(r.code, 1009)
      assert.strictEqual((r.ok!.data as Json).code, "EXECUTION_ERROR") // a step before reset, but read and answered
    })))

  it.effect("a session idle for the idle timeout is closed with a SESSION_ERROR and frees its slot (TestClock)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ws } = yield* serve("qa", { maxSessions: 1, idleTimeout: Duration.minutes(30) })
      const a = yield* Effect.promise(() => dial(ws))
      yield* Effect.promise(() => a.send(JSON.stringify({ type: "reset", data: {} })))
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 100))) // the server is waiting for a's next message
      yield* TestClock.adjust(Duration.minutes(29))
      assert.strictEqual((yield* Effect.promise(() => a.send(JSON.stringify({ type: "state" }))))!.type, "state") // used: its idle time starts again
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 100)))
      yield* TestClock.adjust(Duration.minutes(31))
      const closed = yield* Effect.promise(() => a.next())
      assert.deepStrictEqual(closed, { type: "error", data: { message: "the session had no message for 30m and is closed", code: "SESSION_ERROR" } })
      assert.isUndefined(yield* Effect.promise(() => a.next()))
      const b = yield* Effect.promise(() => dial(ws))
      assert.strictEqual((yield* Effect.promise(() => b.send(JSON.stringify({ type: "reset", data: {} }))))!.type, "observation")
      b.close()
    })))

  it.live("HTTP: /reset and /state are stateless, /step is refused (no session over HTTP); random bodies never get a 5xx; errors are FastAPI's one-line detail", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sim, url } = yield* serve("shop", { maxBodyBytes: 4096 })
      const fixed = yield* Effect.promise(async () => ({
        reset: await post(`${url}/reset`, ""),
        state: await (await fetch(`${url}/state`)).json() as Json,
        step: await post(`${url}/step`, JSON.stringify({ action: { message: "search[x]" } })),
        badAction: await post(`${url}/step`, JSON.stringify({ action: { text: "search[x]" } })),
        noAction: await post(`${url}/step`, JSON.stringify({ timeout_s: 3 })),
        big: await post(`${url}/reset`, JSON.stringify({ episode_id: "x".repeat(5000) })),
        ws: await fetch(`${url}/ws`).then(async (r) => ({ status: r.status, json: await r.json() as Json })),
        unknown: await fetch(`${url}/docs`).then((r) => r.status)
      }))
      assert.strictEqual(fixed.reset.status, 200)
      assert.strictEqual(((fixed.reset.json.observation as Json).text), sim.start("test:0").episode.observation)
      assert.deepStrictEqual(fixed.state, { episode_id: null, step_count: 0, task_id: null, max_steps: null, done: false })
      assert.strictEqual(fixed.step.status, 409)
      assert.match(String(fixed.step.json.detail), /Play episodes over the WebSocket \/ws/)
      assert.deepStrictEqual([fixed.badAction.status, fixed.noAction.status, fixed.big.status, fixed.ws.status, fixed.unknown], [422, 422, 413, 426, 404])
      assert.match(String(fixed.badAction.json.detail), /^Invalid action: /)
      const keys = ["task_id", "seed", "episode_id", "action", "timeout_s", "request_id", "x"]
      const value = fc.oneof(fc.integer({ min: -2, max: 600 }), fc.double(), fc.string({ maxLength: 20 }), fc.constant(null), fc.boolean(), fc.constant({ message: "search[x]" }), fc.constant({}))
      const body = fc.oneof(
        { weight: 4, arbitrary: fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 3 }).map((o) => JSON.stringify(o)) },
        { weight: 1, arbitrary: fc.json() },
        { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }
      )
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.constantFrom("/reset", "/step"), body, async (path, text) => {
            const r = await fetch(`${url}${path}`, { method: "POST", body: text })
            const json = (await r.json()) as Json
            if (r.status >= 500 || r.status < 200) return false
            return r.status < 400 || (typeof json.detail === "string" && json.detail.length > 0 && !json.detail.includes("\n"))
          }),
          { numRuns: 300, seed: 15 }
        )
      )
      assert.strictEqual((yield* Effect.promise(() => fetch(`${url}/health`))).status, 200)
    })), 60_000)
})

describe("OpenEnv client", () => {
  /** Plays each task with the given actions through the `Env` in scope: the episode, each step, the valid actions. */
  const play = (tasks: ReadonlyArray<string>, actions: (task: string) => ReadonlyArray<string>) =>
    Effect.forEach(tasks, (task) =>
      Effect.gen(function*() {
        const env = yield* Env
        const session = yield* env.open
        const episode = yield* session.reset(task)
        const valid = [yield* session.validActions]
        const steps = []
        for (const a of actions(task)) {
          const r = yield* session.step(a)
          steps.push(r)
          if (r.done) break
          valid.push(yield* session.validActions)
        }
        yield* session.close
        return { episode, steps, valid }
      }), { concurrency: 8 })

  for (const name of Registry.names) {
    it.live(`${name}: episodes through the client equal the in-process ones (episode, steps, valid actions)`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { sim, url } = yield* serve(name)
        // train tasks too: the client names the full task id, so the server's --split (test) does not turn them into test tasks
        const tasks = [...Array.from({ length: 25 }, (_, i) => `test:${i * 19}`), "train:7", "train:4999"]
        const actions = (task: string) => actionsOf(sim, task)
        const remote = yield* play(tasks, actions).pipe(Effect.provide(OpenEnvClient.layer({ baseUrl: url, env: name })))
        const local = yield* play(tasks, actions).pipe(Effect.provide(Builtin.layer(sim)))
        assert.deepStrictEqual(remote, local)
        assert.isTrue(local.every((e) => e.steps.at(-1)!.reward === 1))
      })), 60_000)
  }

  it.live("a closed session's connection is reused by the next session (one server session for many episodes); the layer's end closes every connection", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sim, ws, url } = yield* serve("qa", { maxSessions: 1 })
      const tasks = ["test:1", "test:2", "test:3"]
      const rewards = yield* Effect.gen(function*() {
        const env = yield* Env
        const rewards = yield* Effect.forEach(tasks, (task) =>
          Effect.gen(function*() {
            const session = yield* env.open
            yield* session.reset(task)
            let reward = 0
            for (const a of sim.expert(task)) reward = (yield* session.step(a)).reward
            yield* session.close
            return reward
          }))
        const abandoned = yield* env.open // never closed
        yield* abandoned.reset("test:4")
        return rewards
      }).pipe(Effect.provide(OpenEnvClient.layer({ baseUrl: url, env: "qa", retries: 0 })))
      assert.deepStrictEqual(rewards, [1, 1, 1])
      // the layer has ended: its connection is closed (the abandoned session's too), and the one slot is free for a stranger
      const reply = yield* Effect.promise(async () => {
        await new Promise((r) => setTimeout(r, 100))
        const s = await dial(ws)
        const r = await s.send(JSON.stringify({ type: "reset", data: {} }))
        s.close()
        return r
      })
      assert.strictEqual(reply!.type, "observation")
    })))

  it.live("a server that is down: Unreachable after the retries; a full one: ServerError naming CAPACITY_REACHED", () =>
    Effect.scoped(Effect.gen(function*() {
      const fast = { env: "qa", retries: 1, backoff: Duration.millis(10), timeout: Duration.seconds(2) }
      const open = Effect.gen(function*() {
        const env = yield* Env
        return yield* env.open
      })
      const down = yield* Effect.flip(open.pipe(Effect.provide(OpenEnvClient.layer({ ...fast, baseUrl: "http://127.0.0.1:1" }))))
      assert.strictEqual(down.reason, "Unreachable")
      assert.match(down.message, /^connect ws:\/\/127\.0\.0\.1:1\/ws: the WebSocket could not be opened/)
      const { url } = yield* serve("qa", { maxSessions: 1 })
      const full = yield* Effect.gen(function*() {
        const env = yield* Env
        const a = yield* env.open
        yield* a.reset("test:0")
        const b = yield* env.open
        return yield* Effect.flip(b.reset("test:1"))
      }).pipe(Effect.provide(OpenEnvClient.layer({ ...fast, baseUrl: url })))
      assert.strictEqual(full.reason, "ServerError")
      assert.match(full.message, /^reset: CAPACITY_REACHED: Server at capacity: 1 of 1 sessions open/)
    })))

  it.live("a server that went away ends the episode at its next step (SessionLost, never resent); a reset reconnects to the restarted server", () =>
    Effect.gen(function*() {
      const port = yield* Effect.scoped(Effect.map(serve("qa"), (s) => s.port)) // a free port, then closed
      const sim = Registry.make("qa", 0)
      const task = "test:5"
      const [first] = sim.expert(task)
      const result = yield* Effect.gen(function*() {
        const env = yield* Env
        const session = yield* Effect.scoped(Effect.gen(function*() {
          yield* serve("qa", { port })
          const s = yield* env.open
          yield* s.reset(task)
          return s
        })) // the server stops here
        const lost = yield* Effect.flip(session.step(first!))
        const again = yield* Effect.flip(session.step(first!))
        const restarted = yield* Effect.scoped(Effect.gen(function*() {
          yield* serve("qa", { port })
          const episode = yield* session.reset(task)
          const step = yield* session.step(first!)
          yield* session.close
          return { episode, step }
        }))
        return { lost, again, restarted }
      }).pipe(Effect.provide(OpenEnvClient.layer({ baseUrl: `http://127.0.0.1:${port}`, env: "qa", backoff: Duration.millis(20) })))
      assert.strictEqual(result.lost.reason, "SessionLost")
      assert.strictEqual(result.again.reason, "SessionLost")
      assert.strictEqual(result.restarted.episode.observation, sim.start(task).episode.observation)
      assert.strictEqual(result.restarted.step.observation, sim.start(task).step(first!).observation)
    }))
})
