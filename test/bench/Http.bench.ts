/**
 * Environment steps per second on loopback: `stepagent env serve` in a child process (its own core), our client
 * here, many episodes in flight. `httpSteps`: the AgentGym protocol (HTTP requests); `openenvSteps`: OpenEnv's
 * (`--protocol openenv`, one WebSocket session per episode). Target >= 2,000 steps/s with concurrency, for both.
 * Each configuration runs `repeats` times on one server; `stepsPerSecond` is the median (the machine is shared).
 * Wall-clock figures fall when other jobs hold the cores, so each run also reports the CPU time server and client
 * spent a step (from /proc and process.cpuUsage), `stepsPerCoreSecond`, steps / the larger of the two CPU times (what
 * one core each would sustain, whatever else runs; `loadAverage` says how busy the machine was), and
 * `serverStepsPerCoreSecond`, steps / the server's CPU time (what the server alone sustains on one core).
 */
import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Readline from "node:readline"
import { Effect, type Layer } from "effect"
import * as AgentGymClient from "../../src/env/AgentGymClient.ts"
import { Env } from "../../src/env/Env.ts"
import * as OpenEnvClient from "../../src/env/OpenEnvClient.ts"
import * as Registry from "../../src/env/Registry.ts"

const root = NodePath.resolve(import.meta.dirname, "../..")
const repeats = 3

type Protocol = "agentgym" | "openenv"

const serve = async (env: Registry.Name, protocol: Protocol) => {
  const child = NodeChild.spawn(
    NodePath.join(root, "node_modules/.bin/node"),
    [NodePath.join(root, "bin/stepagent.ts"), "env", "serve", "--env", env, "--port", "0", "--protocol", protocol],
    { cwd: root, stdio: ["ignore", "pipe", "ignore"] }
  )
  const line = await new Promise<string>((resolve) => Readline.createInterface({ input: child.stdout! }).once("line", resolve))
  return { child, url: (JSON.parse(line) as { url: string }).url }
}

const client = (protocol: Protocol, baseUrl: string, env: string): Layer.Layer<Env> =>
  protocol === "openenv" ? OpenEnvClient.layer({ baseUrl, env }) : AgentGymClient.layer({ baseUrl, env })

/** CPU seconds a process has used (Linux /proc: utime + stime in clock ticks, 100 a second); undefined elsewhere. */
const cpuOf = (pid: number | undefined): number | undefined => {
  if (pid === undefined || !NodeFs.existsSync(`/proc/${pid}/stat`)) return undefined
  const fields = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const measure = async (protocol: Protocol, env: Registry.Name, concurrency: number, episodes: number) => {
  const sim = Registry.make(env, 0)
  const { child, url } = await serve(env, protocol)
  // requests besides the steps, per episode: /create, /reset, /close; or the reset and close messages (and a connection)
  const overhead = protocol === "openenv" ? 2 : 3
  try {
    const once = Effect.gen(function*() {
      const client = yield* Env
      let steps = 0
      const t0 = performance.now()
      const server0 = cpuOf(child.pid)
      const client0 = process.cpuUsage()
      yield* Effect.forEach(Array.from({ length: episodes }, (_, i) => `test:${i % sim.size("test")}`), (task) =>
        Effect.gen(function*() {
          const s = yield* client.open
          yield* s.reset(task)
          for (const a of sim.expert(task)) {
            steps++
            if ((yield* s.step(a)).done) break
          }
          yield* s.close
        }), { concurrency, discard: true })
      const seconds = (performance.now() - t0) / 1000
      const used = process.cpuUsage(client0)
      const clientCpu = (used.user + used.system) / 1e6
      const server1 = cpuOf(child.pid)
      const serverCpu = server0 === undefined || server1 === undefined ? Number.NaN : server1 - server0
      return { steps, stepsPerSecond: steps / seconds, requestsPerSecond: (steps + overhead * episodes) / seconds, clientCpu, serverCpu }
    })
    const runs = await Effect.runPromise(Effect.replicateEffect(once, repeats).pipe(Effect.provide(client(protocol, url, env))))
    return {
      concurrency,
      steps: runs[0]!.steps,
      stepsPerSecond: Math.round(median(runs.map((r) => r.stepsPerSecond))),
      requestsPerSecond: Math.round(median(runs.map((r) => r.requestsPerSecond))),
      stepsPerSecondRuns: runs.map((r) => Math.round(r.stepsPerSecond)),
      serverCpuMicrosPerStep: Math.round(median(runs.map((r) => r.serverCpu / r.steps)) * 1e6),
      clientCpuMicrosPerStep: Math.round(median(runs.map((r) => r.clientCpu / r.steps)) * 1e6),
      stepsPerCoreSecond: Math.round(median(runs.map((r) => r.steps / Math.max(r.serverCpu, r.clientCpu)))),
      serverStepsPerCoreSecond: Math.round(median(runs.map((r) => r.steps / r.serverCpu)))
    }
  } finally {
    child.kill("SIGTERM")
  }
}

const steps = async (protocol: Protocol, note: string) => {
  const out: Record<string, unknown> = { loadAverage: NodeOs.loadavg().map((l) => Math.round(l * 10) / 10) }
  for (const env of Registry.names) out[env] = [await measure(protocol, env, 1, 100), await measure(protocol, env, 32, 600)]
  const worstBest = (key: "stepsPerSecond" | "stepsPerCoreSecond" | "serverStepsPerCoreSecond") =>
    Math.min(...Registry.names.map((e) => Math.max(...(out[e] as Array<Record<typeof key, number>>).map((r) => r[key]))))
  const best = worstBest("stepsPerSecond")
  return { ...out, worstEnvBestStepsPerSecond: best, worstEnvBestStepsPerCoreSecond: worstBest("stepsPerCoreSecond"), worstEnvBestServerStepsPerCoreSecond: worstBest("serverStepsPerCoreSecond"), target: 2000, met: best >= 2000, repeats, note }
}

export const entries = {
  httpSteps: () =>
    steps("agentgym", "AgentGym protocol; whole episodes: /create, /reset and /close cost time but only /step counts as a step; requestsPerSecond counts all"),
  openenvSteps: () =>
    steps("openenv", "OpenEnv protocol (env serve --protocol openenv); whole episodes, each a WebSocket session: connect, reset, steps, close; only steps count; requestsPerSecond counts the reset and close messages too")
}
