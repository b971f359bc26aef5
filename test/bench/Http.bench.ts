/**
 * Environment steps per second over HTTP on loopback: `stepagent env serve` in a child process (its own
 * core), the AgentGym client here, many episodes in flight. Target >= 2,000 steps/s with concurrency.
 */
import * as NodeChild from "node:child_process"
import * as NodePath from "node:path"
import * as Readline from "node:readline"
import { Effect } from "effect"
import * as AgentGymClient from "../../src/env/AgentGymClient.ts"
import { Env } from "../../src/env/Env.ts"
import * as Registry from "../../src/env/Registry.ts"

const root = NodePath.resolve(import.meta.dirname, "../..")

const serve = async (env: Registry.Name) => {
  const child = NodeChild.spawn(NodePath.join(root, "node_modules/.bin/node"), [NodePath.join(root, "bin/stepagent.ts"), "env", "serve", "--env", env, "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "ignore"] })
  const line = await new Promise<string>((resolve) => Readline.createInterface({ input: child.stdout! }).once("line", resolve))
  return { child, url: (JSON.parse(line) as { url: string }).url }
}

const measure = async (env: Registry.Name, concurrency: number, episodes: number) => {
  const sim = Registry.make(env, 0)
  const { child, url } = await serve(env)
  try {
    const program = Effect.gen(function*() {
      const client = yield* Env
      let steps = 0
      const t0 = performance.now()
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
      return { steps, requests: steps + 3 * episodes, seconds: (performance.now() - t0) / 1000 }
    }).pipe(Effect.provide(AgentGymClient.layer({ baseUrl: url, env })))
    const r = await Effect.runPromise(program)
    return { concurrency, steps: r.steps, stepsPerSecond: Math.round(r.steps / r.seconds), requestsPerSecond: Math.round(r.requests / r.seconds) }
  } finally {
    child.kill("SIGTERM")
  }
}

export const entries = {
  httpSteps: async () => {
    const out: Record<string, unknown> = {}
    for (const env of Registry.names) {
      const runs = [await measure(env, 1, 100), await measure(env, 32, 600)]
      out[env] = runs
    }
    const best = Math.min(...Registry.names.map((e) => Math.max(...(out[e] as Array<{ stepsPerSecond: number }>).map((r) => r.stepsPerSecond))))
    return { ...out, worstEnvBestStepsPerSecond: best, target: 2000, met: best >= 2000, note: "whole episodes: /create, /reset and /close cost time but only /step counts as a step; requestsPerSecond counts all" }
  }
}
