import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as Builtin from "../../src/env/Builtin.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import type * as Metrics from "../../src/metrics/Metrics.ts"
import * as Dispatcher from "../../src/stages/Dispatcher.ts"
import * as OutcomePpo from "../../src/stages/OutcomePpo.ts"
import * as Ppo from "../../src/stages/Ppo.ts"
import * as Rollout from "../../src/stages/Rollout.ts"
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

  it.effect("keeps what the policy gave each sampled action (log-probs, values): PPO's packed scoring of the same steps, to 1e-4, across processes exactly", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const model = Transformer.init(world.config, 2)
      const actor: Rollout.Actor = { kind: "model", model, tokenizer: world.tokenizer, maxTokens: 8, temperature: 1 }
      const rollouts = yield* Rollout.run(actor, Array.from({ length: 6 }, (_, i) => `train:${i}`), Rng.make(3), null).pipe(Effect.provide(Builtin.layer(Signals.make())))
      const eps = rollouts.flatMap(OutcomePpo.episodes)
      expect(eps.length).toBeGreaterThan(6)
      const packed = Score.packed(model, eps.map((e) => ({ trajectory: e.segment.trajectory, step: e.segment.step, action: e.tokens })))
      let tokens = 0
      eps.forEach((e, r) => {
        expect(e.logp).toHaveLength(e.tokens.length)
        expect(e.values).toHaveLength(e.tokens.length)
        for (let j = 0; j < e.tokens.length; j++) {
          tokens++
          expect(Math.abs(e.logp![j]! - packed.logp[r * packed.width + j]!)).toBeLessThan(1e-4)
          expect(Math.abs(e.values![j]! - packed.values[r * packed.width + j]!)).toBeLessThan(1e-4)
        }
      })
      expect(tokens).toBeGreaterThan(eps.length)
      expect(Ppo.sampled(eps)).toBeDefined() // PPO takes them as its old policy
      // across processes (a wave on a worker) with the tokens, exactly; without them (evaluation), not at all
      const back = rollouts.map((e) => Dispatcher.fromRecord(Dispatcher.toRecord(e, true)))
      expect(back.flatMap(OutcomePpo.episodes).map((e) => [Array.from(e.logp!), Array.from(e.values!)])).toEqual(eps.map((e) => [Array.from(e.logp!), Array.from(e.values!)]))
      expect(rollouts.map((e) => Dispatcher.toRecord(e)).every((r) => r.logp === undefined && r.values === undefined)).toBe(true)
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
