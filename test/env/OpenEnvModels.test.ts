import * as NodeChild from "node:child_process"
import * as NodePath from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import * as OpenEnvServer from "../../src/env/OpenEnvServer.ts"
import * as Registry from "../../src/env/Registry.ts"

/**
 * The server's answers, validated by openenv-core's own pydantic models (test/fixtures/openenv: its types.py, verbatim,
 * and validate.py): the models its clients and servers build from the same JSON. Runs where python3 has pydantic 2.
 */
const fixtures = NodePath.resolve(import.meta.dirname, "../fixtures/openenv")
const python = NodeChild.spawnSync("python3", ["-c", "import pydantic, sys; sys.exit(0 if pydantic.VERSION.startswith('2') else 1)"])
const hasPydantic = python.status === 0

describe("OpenEnv answers against openenv-core's pydantic models", () => {
  it.live.skipIf(!hasPydantic)("health, metadata, schema, reset, state, and the WebSocket frames both ways", () =>
    Effect.scoped(Effect.gen(function*() {
      const sim = Registry.make("house", 0)
      const ctx = yield* Layer.build(OpenEnvServer.layer(sim, { split: "test", worldSeed: 0, port: 0, host: "127.0.0.1" }))
      const server = Context.get(ctx, HttpServer.HttpServer)
      const url = `http://127.0.0.1:${"port" in server.address ? server.address.port : 0}`
      const task = "test:2"
      const requests: Array<readonly [string, unknown]> = [
        ["WSResetMessage", { type: "reset", data: { seed: 0, episode_id: "e2", task_id: 2 } }],
        ...sim.expert(task).map((message) => ["WSStepMessage", { type: "step", data: { message } }] as const),
        ["WSStateMessage", { type: "state" }],
        ["WSStepMessage", { type: "step", data: { message: "look" } }], // after done: the final observation again
        ["WSStepMessage", { type: "step", data: {} }] // refused: no message
      ]
      const answers = yield* Effect.promise(async () => {
        const json = async (path: string, init?: RequestInit) => (await fetch(`${url}${path}`, init)).json() as Promise<unknown>
        const frames: Array<readonly [string, unknown]> = []
        const ws = new WebSocket(`${url.replace("http://", "ws://")}/ws`)
        await new Promise<void>((resolve) => {
          const queue = requests.map(([, m]) => m)
          ws.onopen = () => ws.send(JSON.stringify(queue.shift()))
          ws.onmessage = (e) => {
            const frame = JSON.parse(String(e.data)) as { type: string }
            frames.push([frame.type === "observation" ? "WSObservationResponse" : frame.type === "state" ? "WSStateResponse" : "WSErrorResponse", frame])
            const next = queue.shift()
            if (next === undefined) {
              ws.close()
              resolve()
            } else ws.send(JSON.stringify(next))
          }
        })
        return {
          health: await json("/health"),
          metadata: await json("/metadata"),
          schema: await json("/schema"),
          reset: await json("/reset", { method: "POST", body: JSON.stringify({ seed: 0, episode_id: "e1", task_id: 2 }) }),
          state: await json("/state"),
          frames,
          requests: [...requests.slice(0, -1), ["WSCloseMessage", { type: "close" }], ["ResetRequest", { seed: 0, episode_id: "e1", task_id: 2 }], ["StepRequest", { action: { message: "look" }, timeout_s: 5 }]]
        }
      })
      assert.deepStrictEqual(answers.frames.map(([m]) => m).slice(-3), ["WSStateResponse", "WSObservationResponse", "WSErrorResponse"])
      const r = NodeChild.spawnSync("python3", ["validate.py"], { cwd: fixtures, input: JSON.stringify(answers), encoding: "utf8" })
      assert.strictEqual(r.status, 0, r.stderr)
      assert.include(r.stdout, "http ok")
      assert.strictEqual(r.stdout.split("\n").filter((l) => l.endsWith(" ok")).length, 1 + answers.frames.length + answers.requests.length)
    })))
})
