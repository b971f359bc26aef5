import * as NodeNet from "node:net"
import { Duration, Effect, Layer, Stream } from "effect"
import { describe, expect, it } from "@effect/vitest"
import { EnvErrorReason } from "../../src/domain/EnvError.ts"
import * as AgentGymClient from "../../src/env/AgentGymClient.ts"
import { Env } from "../../src/env/Env.ts"
import * as Registry from "../../src/env/Registry.ts"
import * as Metrics from "../../src/metrics/Metrics.ts"
import * as Evaluate from "../../src/stages/Evaluate.ts"
import * as Faulty from "./Faulty.ts"

/**
 * An evaluation against a misbehaving AgentGym server (a real proxy in front of our real server, test/env/Faulty.ts):
 * slow answers, 500s, connections closed before and after the server acted, answers that never come, a listener
 * that goes away for a moment, a server restart that loses every session. The evaluation completes; every episode
 * either ends as the clean run's does or with a recorded `error:<reason>`; the counts add up; and no action is ever
 * applied twice (a /step whose answer was lost is not blindly resent).
 */
const sim = Registry.make("house", 0)
const n = 24 // three waves of 8: the restart hits the second wave, the third runs on the restarted server

// The n-th request of each path and what happens to it (see Faulty.ts). Chosen so that each fault meets each request kind.
const schedule: Faulty.Schedule = {
  "/create": { 2: "500", 5: "hangupAfter", 7: "hangup", 11: "slow", 20: "bounce" },
  "/reset": { 3: "500", 4: "hangupAfter", 6: "hang", 9: "slow", 14: "hangup" },
  "/step": { 5: "500", 9: "hangupAfter", 13: "hangup", 17: "slow", 21: "hang", 40: "bounce", 60: "slow", 90: "restart", 130: "hangupAfter" }
}

/** Resolves once a TCP connection to 127.0.0.1:port is refused. */
const refusedAt = (port: number) =>
  new Promise<void>((resolve, reject) => {
    const socket = NodeNet.connect(port, "127.0.0.1")
    socket.on("connect", () => {
      socket.destroy()
      reject(new Error(`port ${port} still accepts connections`))
    })
    socket.on("error", () => resolve())
  })

const evaluate = (url: string) =>
  Evaluate.tasks("test", n).pipe(
    Evaluate.evaluate({ ...Evaluate.defaults, policy: "expert", parallel: 8 }, { seed: 0, iteration: 0 }, { expert: (task) => sim.expert(task) }),
    Stream.runCollect,
    Effect.provide(Layer.mergeAll(
      // timeout short so that a request that never gets an answer costs a second, not the default 30 s
      AgentGymClient.layer({ baseUrl: url, env: "house", timeout: Duration.seconds(1), retries: 3, backoff: Duration.millis(50) }),
      Metrics.layerNone
    )),
    Effect.map((c) => Array.from(c))
  )

describe("evaluation against a faulty AgentGym server", () => {
  // Live: the client's timeouts and backoffs, and the proxy's delays, run on the real clock.
  it.live("ends every episode as the clean run does or with a recorded reason, counts add up, no action applied twice", () =>
    Effect.gen(function*() {
      // The clean run's proxy is closed before the faulty one starts; the faulty one when the test ends.
      const clean = yield* Effect.scoped(Effect.flatMap(Faulty.proxy(sim, {}, { slowMs: 200, bounceMs: 150 }), (p) => evaluate(p.url)))
      expect(clean.every((e) => e.termination === "done" && e.success)).toBe(true)

      const proxy = yield* Faulty.proxy(sim, schedule, { slowMs: 200, bounceMs: 150 })
      const episodes = yield* evaluate(proxy.url)
      // every scheduled fault happened
      for (const [fault, count] of Object.entries(proxy.injected)) expect(count, fault).toBeGreaterThan(0)

      // attempted = ended normally + ended with a reason
      expect(episodes.map((e) => e.taskId)).toEqual(clean.map((e) => e.taskId))
      const terminations = Evaluate.terminations(episodes)
      expect(Object.values(terminations).reduce((a, b) => a + b, 0)).toBe(n)
      const reasons = new Set<string>(EnvErrorReason.literals)
      const failed = episodes.filter((e) => e.termination.startsWith("error:"))
      for (const e of failed) expect(reasons.has(e.termination.slice("error:".length)), e.termination).toBe(true)
      // the restart lost the sessions of the episodes then in flight, and nothing else ended them wrongly
      expect(failed.some((e) => e.termination === "error:SessionLost")).toBe(true)
      // /create and /reset are retried through every fault (none is lost before its first step); a /step whose answer
      // may have been lost ends its episode instead (a connection dropped mid-request, a 500, no answer in time)
      expect(failed.every((e) => e.steps > 0)).toBe(true)
      // the episodes that ended normally are the clean run's, step for step
      const ok = episodes.filter((e) => !e.termination.startsWith("error:"))
      expect(ok.length).toBeGreaterThan(0)
      for (const e of ok) expect(e.trajectory, e.taskId).toEqual(clean.find((c) => c.taskId === e.taskId)!.trajectory)

      // the server applied exactly the steps each transcript shows (the last one of a failed episode maybe not)
      for (const e of episodes) {
        const index = Number(e.taskId.split(":")[1])
        const logs = [...proxy.sessions.values()].filter((s) => s.task === index)
        const applied = logs.reduce((a, s) => a + s.applied, 0)
        if (e.termination.startsWith("error:")) expect([e.steps - 1, e.steps], `${e.taskId} ${e.termination}`).toContain(applied)
        else expect(applied, `${e.taskId} ${e.termination}`).toBe(e.steps)
      }
    }), 120_000)

  it.live("a /step refused while the server restarts is sent again: the new server answers (it lost the session)", () =>
    Effect.gen(function*() {
      const first = yield* Faulty.server(sim)
      const url = `http://127.0.0.1:${first.port}`
      const e = yield* Effect.gen(function*() {
        const env = yield* Env
        const session = yield* env.open
        yield* session.reset("test:0")
        yield* Effect.promise(() => first.close())
        // A connection attempt that is refused: the port is free, and by then the client's pooled connection has seen
        // the server close it (a request written on it before that would be ambiguous: the server might have read it).
        yield* Effect.promise(() => refusedAt(first.port))
        // nothing listens on the port now: the step is refused, and resent until the restarted server answers
        const [result, second] = yield* Effect.all([
          Effect.flip(session.step(sim.expert("test:0")[0]!)),
          Faulty.server(sim, first.port)
        ], { concurrency: 2 })
        yield* Effect.promise(() => second.close())
        return result
      }).pipe(Effect.provide(AgentGymClient.layer({ baseUrl: url, env: "house", retries: 5, backoff: Duration.millis(100) })))
      expect(e.reason).toBe("SessionLost")
      expect(e.message).toMatch(/POST \/step: HTTP 404/)
    }), 60_000)
})
