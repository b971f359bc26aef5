import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as Builtin from "../../src/env/Builtin.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import type * as Metrics from "../../src/metrics/Metrics.ts"
import * as OutcomePpo from "../../src/stages/OutcomePpo.ts"
import type * as Rollout from "../../src/stages/Rollout.ts"
import * as Fixtures from "./Fixtures.ts"
import * as Signals from "./Signals.ts"
import * as World from "./World.ts"

layer(World.layerSignals({ train: 24, heldOut: 4 }))("outcome PPO", (it) => {
  it.effect("assigns every step of a rollout the episode's final reward (γ = 1, no intermediate rewards)", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const t = world.train[0]!
      const rollout: Rollout.Episode = {
        taskId: t.taskId,
        trajectory: { id: t.id, env: "signals", taskId: t.taskId, instruction: "", steps: [], reward: 0.75, success: false, source: "rollout" },
        reward: 0.75,
        success: false,
        steps: Tokenized.stepCount(t),
        termination: "done",
        tokenized: t
      }
      const eps = OutcomePpo.episodes(rollout)
      expect(eps).toHaveLength(Tokenized.stepCount(t))
      eps.forEach((e, i) => {
        expect(e.reward).toBe(0.75)
        expect(e.segment).toEqual({ trajectory: t, step: i })
        expect(Array.from(e.tokens)).toEqual(Array.from(t.tokens.subarray(Tokenized.actStart(t, i), Tokenized.actEnd(t, i))))
      })
      expect(OutcomePpo.episodes({ ...rollout, tokenized: undefined })).toEqual([])
    }))

  it.effect("rolls the policy out on training tasks and runs PPO on the steps, logging rollout and PPO metrics", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const records: Array<Metrics.MetricRecord> = []
      const out = yield* Stream.runCollect(Stream.fromIterable(Array.from({ length: 12 }, (_, i) => `train:${i}`)).pipe(
        OutcomePpo.outcomePpo({ ...OutcomePpo.defaults, parallel: 6, maxTokens: 8, ppo: { ...OutcomePpo.defaults.ppo, batchSize: 16, minibatchSize: 8, epochs: 1 } }, { seed: 1, iteration: 0 })
      )).pipe(Effect.provide(Layer.merge(Fixtures.layer(world.tokenizer, Transformer.init(world.config, 2), records), Builtin.layer(Signals.make()))))
      const rollouts = records.filter((r) => r.stage === "outcome_ppo" && r.values["rollout/avg_reward"] !== undefined)
      const ppo = records.filter((r) => r.stage === "outcome_ppo" && r.values["loss/policy"] !== undefined)
      expect(rollouts).toHaveLength(2)
      expect(out).toHaveLength(0) // the metrics go one way: logged
      expect(ppo.length).toBeGreaterThan(0)
      for (const r of ppo) for (const v of Object.values(r.values)) expect(Number.isFinite(v)).toBe(true)
    }))
})
