import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Stream } from "effect"
import { EnvError } from "../../src/domain/EnvError.ts"
import { parseAssistantTurn } from "../../src/domain/Step.ts"
import * as AgentGymClient from "../../src/env/AgentGymClient.ts"
import * as Builtin from "../../src/env/Builtin.ts"
import { Env } from "../../src/env/Env.ts"
import * as Registry from "../../src/env/Registry.ts"
import type { Simulator } from "../../src/env/Simulator.ts"
import * as Metrics from "../../src/metrics/Metrics.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as Evaluate from "../../src/stages/Evaluate.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Signals from "./Signals.ts"

const at = { seed: 3, iteration: 0 }

/** Runs an evaluation over `n` test tasks in `env`; returns the episodes and the logged records. */
const evaluate = (
  env: Layer.Layer<Env>,
  config: Partial<Evaluate.Config>,
  tasks: Stream.Stream<string>,
  options: Evaluate.Options = {},
  models?: Layer.Layer<Models.Models>
) =>
  Effect.suspend(() => {
    const records: Array<Metrics.MetricRecord> = []
    const services = Layer.mergeAll(env, Metrics.layerMemory(records), models ?? Layer.empty)
    return Stream.runCollect(tasks.pipe(Evaluate.evaluate({ ...Evaluate.defaults, ...config }, at, options))).pipe(
      Effect.provide(services),
      Effect.map((episodes) => ({ episodes, records }))
    )
  })

/** A real simulator whose sessions fail (EnvError Crashed) at the `step`-th step of task `task`. */
const failing = (sim: Simulator, task: string, step: number): Layer.Layer<Env> =>
  Layer.succeed(Env, {
    name: sim.name,
    size: (split) => sim.size(split),
    open: Effect.sync(() => {
      const s = Builtin.session(sim)
      let current = ""
      let n = 0
      return {
        ...s,
        reset: (taskId: string) => {
          current = taskId
          n = 0
          return s.reset(taskId)
        },
        step: (action: string) => {
          n++
          return current === task && n === step
            ? Effect.fail(new EnvError({ reason: "Crashed", env: sim.name, message: `${sim.name} crashed on ${task}` }))
            : s.step(action)
        }
      }
    })
  })

describe("evaluate", () => {
  const signals = Signals.make()

  // These run on the test backend (wasm, one thread), started before the first of them.
  it.layer(Backend.layerTest)((it) => {
    it.effect("the expert reference policy solves every task; per-episode records carry the full transcript; the summary is logged", () =>
      Effect.gen(function*() {
        const { episodes, records } = yield* evaluate(Builtin.layer(signals), { policy: "expert", parallel: 4 }, Evaluate.tasks("test", 6), { expert: signals.expert })
        expect(episodes.map((e) => e.taskId)).toEqual(Array.from({ length: 6 }, (_, i) => `test:${i}`))
        for (const e of episodes) {
          expect(e.termination).toBe("done")
          expect(e.success).toBe(true)
          expect(e.reward).toBe(1)
          expect(e.trajectory.steps.map((s) => s.action)).toEqual(signals.expert(e.taskId))
          expect(e.trajectory.instruction).toBe(Signals.instruction)
          expect(e.trajectory.finalObservation).toContain("Done.")
          expect(e.steps).toBe(e.trajectory.steps.length)
        }
        expect(records).toHaveLength(1)
        expect(records[0]!.stage).toBe("evaluate")
        expect(records[0]!.values["eval/avg_reward"]).toBe(1)
        expect(records[0]!.values["eval/success_rate"]).toBe(1)
      }))

    it.effect("reports progress after each wave of `parallel` episodes", () =>
      Effect.gen(function*() {
        const waves: Array<number> = []
        yield* evaluate(Builtin.layer(signals), { policy: "expert", parallel: 4 }, Evaluate.tasks("test", 10), {
          expert: signals.expert,
          onWave: (done) => Effect.sync(() => waves.push(done))
        })
        expect(waves).toEqual([4, 8, 10])
      }))

    it.effect("the random reference policy picks among the valid actions and scores far below the expert", () =>
      Effect.gen(function*() {
        const { episodes } = yield* evaluate(Builtin.layer(signals), { policy: "random", parallel: 8 }, Evaluate.tasks("test", 24))
        const s = Evaluate.summary(episodes)
        expect(s.avgReward).toBeLessThan(0.4)
        for (const e of episodes) for (const step of e.trajectory.steps) expect(step.action).toMatch(/^press [0-7]$/)
        const again = yield* evaluate(Builtin.layer(signals), { policy: "random", parallel: 8 }, Evaluate.tasks("test", 24))
        expect(again.episodes.map((e) => e.trajectory.steps.map((x) => x.action))).toEqual(episodes.map((e) => e.trajectory.steps.map((x) => x.action)))
      }))

    it.effect("the expert policy solves held-out qa tasks through the built-in simulator", () =>
      Effect.gen(function*() {
        const qa = Registry.make("qa", 0)
        const { episodes } = yield* evaluate(Builtin.layer(qa), { policy: "expert" }, Evaluate.tasks("test", 4), { expert: qa.expert })
        expect(episodes.every((e) => e.success && e.termination === "done")).toBe(true)
      }))

    it.effect("an environment that fails mid-episode ends that episode with the reason; the others complete", () =>
      Effect.gen(function*() {
        const tasks = Stream.fromIterable(["test:0", "test:1", "test:2", "test:999"])
        const { episodes, records } = yield* evaluate(failing(signals, "test:1", 2), { policy: "expert", parallel: 4 }, tasks, { expert: signals.expert })
        const byTask = new Map(episodes.map((e) => [e.taskId, e]))
        expect(byTask.get("test:1")!.termination).toBe("error:Crashed")
        expect(byTask.get("test:1")!.steps).toBe(2)
        expect(byTask.get("test:1")!.reward).toBe(0)
        expect(byTask.get("test:999")!.termination).toBe("error:UnknownTask")
        expect(byTask.get("test:999")!.steps).toBe(0)
        for (const t of ["test:0", "test:2"]) {
          expect(byTask.get(t)!.termination).toBe("done")
          expect(byTask.get(t)!.success).toBe(true)
        }
        expect(records[0]!.values["eval/error_rate"]).toBe(0.5)
        expect(records[0]!.values["eval/success_rate"]).toBe(0.5)
      }))

    it.effect("the model policy: batched sampling across episodes, text parsed, the step limit ends episodes", () =>
      Effect.gen(function*() {
        const qa = Registry.make("qa", 0)
        const run = () => evaluate(Builtin.layer(qa), { policy: "model", parallel: 3, maxSteps: 2, maxTokens: 6, temperature: 1 }, Evaluate.tasks("test", 5), {}, Models.layerTest({ seed: 2 }))
        const { episodes } = yield* run()
        expect(episodes).toHaveLength(5)
        for (const e of episodes) {
          expect(["max_steps", "done"]).toContain(e.termination)
          expect(e.steps).toBeLessThanOrEqual(2)
          expect(e.tokenized).toBeDefined()
          for (const s of e.trajectory.steps) expect(s.action).toBe(parseAssistantTurn(s.raw ?? (s.thought === undefined ? s.action : `Thought: ${s.thought}\nAction: ${s.action}`)).action)
        }
        expect(episodes.some((e) => e.termination === "max_steps")).toBe(true)
        const again = yield* run()
        expect(again.episodes.map((e) => e.trajectory)).toEqual(episodes.map((e) => e.trajectory))
      }))

    it.effect("fails with a typed error when the policy cannot run: expert without a simulator, model without models", () =>
      Effect.gen(function*() {
        const services = Layer.merge(Builtin.layer(signals), Metrics.layerNone)
        const noExpert = yield* Stream.runCollect(Evaluate.tasks("test", 1).pipe(Evaluate.evaluate({ ...Evaluate.defaults, policy: "expert" }, at))).pipe(Effect.catchTag("MetricsError", Effect.die), Effect.flip, Effect.provide(services))
        expect(noExpert.reason).toBe("BadConfig")
        const noModel = yield* Stream.runCollect(Evaluate.tasks("test", 1).pipe(Evaluate.evaluate(Evaluate.defaults, at))).pipe(Effect.catchTag("MetricsError", Effect.die), Effect.flip, Effect.provide(services))
        expect(noModel.reason).toBe("MissingModel")
      }))
  })

  // Live: the client's backoff sleeps on the real clock. No model runs here, so the test backend is not needed.
  it.live("an AgentGym server that is not there ends every episode with error:Unreachable, and the stage completes", () =>
    Effect.gen(function*() {
      const client = AgentGymClient.layer({ baseUrl: "http://127.0.0.1:9", env: "nothing", retries: 1, backoff: Duration.millis(5), timeout: Duration.seconds(2) })
      const { episodes, records } = yield* evaluate(client, { policy: "random", parallel: 3 }, Evaluate.tasks("test", 3))
      expect(episodes.map((e) => e.termination)).toEqual(["error:Unreachable", "error:Unreachable", "error:Unreachable"])
      expect(records[0]!.values["eval/avg_reward"]).toBe(0)
    }))
})
