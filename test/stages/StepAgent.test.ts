import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import type * as Metrics from "../../src/metrics/Metrics.ts"
import * as Evaluate from "../../src/stages/Evaluate.ts"
import * as Models from "../../src/stages/Models.ts"
import * as RewardAuc from "../../src/stages/RewardAuc.ts"
import type * as Rewarded from "../../src/stages/Rewarded.ts"
import * as Sample from "../../src/stages/Sample.ts"
import * as StepAgent from "../../src/stages/StepAgent.ts"
import * as Fixtures from "./Fixtures.ts"
import { envLayer } from "./World.ts"
import * as World from "./World.ts"

/** StepAgent-implicit as the tests run it on the tiny model (see docs/stages.md on these settings). */
const stepAgentConfig = StepAgent.config({
  sample: { maxTokens: 8 },
  implicit: { steps: 4, minibatchSize: 64, learningRate: 1e-3, nllCoef: 1 },
  ppo: { learningRate: 1e-3, epochs: 4, minibatchSize: 32 }
})

/** On the behaviour world from the shared "novice" (World.novice: 150 SFT steps). */
layer(World.layerNovice)("StepAgent", (it) => {
  // Whether the iterations raise the expert's held-out likelihood is an empirical question, not a law: on this toy world it
  // held for seed 1 and not for seeds 2 and 3 (before and after packing), as the paper table finds on qa (docs/paper-table.md).
  // The direction of a PPO update under a given reward is tested in Ppo.test.ts; here, that three iterations run end to
  // end and move the policy.
  it.effect("a few implicit iterations run sampling, reward and PPO end to end and move the policy", () =>
    Effect.gen(function*() {
      const { world, heldOut } = yield* World.BehaviourWorld
      const { novice } = yield* World.Novice
      const records: Array<Metrics.MetricRecord> = []
      const before = Fixtures.expertLogLikelihood(novice, heldOut)
      // On the live clock, so that perf/tokens_per_s below is a measured throughput (on the TestClock no time passes: 0).
      const after = yield* Effect.gen(function*() {
        yield* Stream.runDrain(StepAgent.iterations(stepAgentConfig, { seed: 1, count: 3 }, () => Stream.fromIterable(world.train.slice(0, 100))))
        return Fixtures.expertLogLikelihood(yield* (yield* Models.Models).get("policy"), heldOut)
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Models.copy(novice), records)), TestClock.withLive)
      expect(Math.abs(after - before)).toBeGreaterThan(1e-3)
      expect(Number.isFinite(after)).toBe(true)
      const stages = new Set(records.map((r) => r.stage))
      expect([...stages].sort()).toEqual(["implicit_reward", "ppo", "sample"])
      for (const name of ["policy/approxkl", "policy/clipfrac", "policy/entropy", "loss/policy", "loss/value", "objective/kl", "reward/step_mean", "perf/tokens_per_s"]) {
        expect(records.filter((r) => r.stage === "ppo").every((r) => Number.isFinite(r.values[name]))).toBe(true)
      }
      expect(new Set(records.map((r) => r.iteration))).toEqual(new Set([0, 1, 2]))
    }), 120_000) // ~40 s alone; over 60 s when the whole suite shares the 2 cores (the reward model now also scores each batch before training on it)

  it.effect("a reward warm-up iteration trains the reward model and leaves the policy as it was; the next one runs PPO", () =>
    Effect.gen(function*() {
      const { world } = yield* World.BehaviourWorld
      const { novice } = yield* World.Novice
      const records: Array<Metrics.MetricRecord> = []
      const config = { ...stepAgentConfig, rewardWarmup: 1 }
      const source = () => Stream.fromIterable(world.train.slice(0, 12))
      const { policy0, reward0, policy1 } = yield* Effect.gen(function*() {
        const models = yield* Models.Models
        yield* Stream.runDrain(StepAgent.iteration(config, { seed: 3, iteration: 0 })(source()))
        const policy0 = Fixtures.weights(yield* models.get("policy"))
        const reward0 = Fixtures.weights(yield* models.get("reward"))
        yield* Stream.runDrain(StepAgent.iteration(config, { seed: 3, iteration: 1 })(source()))
        return { policy0, reward0, policy1: Fixtures.weights(yield* models.get("policy")) }
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Models.copy(novice), records)))
      const start = Fixtures.weights(novice)
      expect(Fixtures.sameWeights(policy0, start)).toBe(true) // warm-up: no PPO step
      expect(Fixtures.sameWeights(reward0, start)).toBe(false) // π_φ took its DPO steps
      expect(Fixtures.sameWeights(policy1, start)).toBe(false) // after the warm-up, PPO moves the policy
      expect(records.filter((r) => r.stage === "ppo").every((r) => r.iteration === 1)).toBe(true)
      expect(records.some((r) => r.stage === "implicit_reward" && r.iteration === 0)).toBe(true)
    }), 60_000)

  it.effect("the oracle reward: 1 exactly where the agent wrote the expert's action, auc 1, no reward model; PPO (sparing the expert's prefix) moves the policy", () =>
    Effect.gen(function*() {
      const { world } = yield* World.BehaviourWorld
      const { novice } = yield* World.Novice
      const records: Array<Metrics.MetricRecord> = []
      const seen: Array<Rewarded.Rewarded> = []
      const config = { ...stepAgentConfig, reward: "oracle" as const, spareExpertPrefix: true }
      const { policy, roles } = yield* Effect.gen(function*() {
        const models = yield* Models.Models
        yield* Stream.runDrain(StepAgent.iteration(config, { seed: 2, iteration: 0 }, { rewarded: (r) => Effect.sync(() => seen.push(r)) })(Stream.fromIterable(world.train.slice(0, 12))))
        return { policy: Fixtures.weights(yield* models.get("policy")), roles: Object.keys(yield* models.entries).sort() }
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Models.copy(novice), records)))
      expect(roles).toEqual(["policy", "reference"])
      expect(seen.length).toBeGreaterThan(20)
      const differing = seen.filter(RewardAuc.differs)
      expect(differing.length).toBeGreaterThan(0) // the novice's samples are not all the expert's: the reward sees both kinds
      expect(differing.length).toBeLessThan(seen.length)
      for (const r of seen) {
        expect(r.reward).toBe(RewardAuc.differs(r) ? 0 : 1)
        expect(r.expertReward).toBe(1)
      }
      const oracle = records.filter((r) => r.stage === "oracle_reward")
      expect(oracle.length).toBeGreaterThan(0)
      for (const r of oracle) if (r.values["reward/auc_pairs"]! > 0) expect(r.values["reward/auc"]).toBe(1)
      const ppo = records.filter((r) => r.stage === "ppo")
      expect(ppo.length).toBeGreaterThan(0)
      // spareExpertPrefix: some differing actions share a first token with the expert's, whose negative advantage is spared
      expect(ppo.every((r) => r.values["ppo/spared_frac"]! >= 0 && r.values["ppo/spared_frac"]! < 1)).toBe(true)
      expect(ppo.some((r) => r.values["ppo/spared_frac"]! > 0)).toBe(true)
      expect(Fixtures.sameWeights(policy, Fixtures.weights(novice))).toBe(false)
    }), 60_000)

  it.effect("the placebo (the oracle's rewards shuffled): the same samples, the same rewards per batch in another order, blind to the actions", () =>
    Effect.gen(function*() {
      const { world } = yield* World.BehaviourWorld
      const { novice } = yield* World.Novice
      // a reward warm-up round: sampling and rewards only, no PPO (the test is about the rewards)
      const rewarded = (shuffle: boolean) => {
        const seen: Array<Rewarded.Rewarded> = []
        const config = StepAgent.config({ ...stepAgentConfig, reward: "oracle", rewardWarmup: 1, oracle: { batchSize: 16, shuffle } })
        return Stream.runDrain(StepAgent.iteration(config, { seed: 2, iteration: 0 }, { rewarded: (r) => Effect.sync(() => seen.push(r)) })(Stream.fromIterable(world.train.slice(0, 12)))).pipe(
          Effect.provide(Fixtures.layer(world.tokenizer, Models.copy(novice), [])),
          Effect.as(seen)
        )
      }
      const exact = yield* rewarded(false)
      const placebo = yield* rewarded(true)
      expect(placebo.map((r) => [...r.tokens])).toEqual(exact.map((r) => [...r.tokens])) // the same samples
      const sorted = (xs: ReadonlyArray<Rewarded.Rewarded>) => xs.map((r) => r.reward).sort()
      for (let i = 0; i < exact.length; i += 16) expect(sorted(placebo.slice(i, i + 16))).toEqual(sorted(exact.slice(i, i + 16)))
      expect(placebo.some((r, i) => r.reward !== exact[i]!.reward)).toBe(true) // moved to other actions
      expect(placebo.every((r) => r.expertReward === 1)).toBe(true)
      expect((yield* rewarded(true)).map((r) => r.reward)).toEqual(placebo.map((r) => r.reward)) // seeded
    }), 60_000)

  it.effect("is deterministic: the same seed gives identical metrics (both reward variants, and evaluation)", () =>
    Effect.gen(function*() {
      const { world } = yield* World.BehaviourWorld
      const { novice } = yield* World.Novice
      const once = Effect.suspend(() => {
        const records: Array<Metrics.MetricRecord> = []
        return Effect.gen(function*() {
          const source = () => Stream.fromIterable(world.train.slice(0, 12))
          yield* Stream.runDrain(StepAgent.iteration({ ...stepAgentConfig, reward: "implicit" }, { seed: 5, iteration: 0 })(source()))
          yield* Stream.runDrain(StepAgent.iteration(StepAgent.config({ reward: "inverse", sample: { maxTokens: 8, temperature: 1 }, ppo: { epochs: 1 } }), { seed: 5, iteration: 1 })(source()))
          yield* Stream.runDrain(Evaluate.tasks("test", 4).pipe(Evaluate.evaluate({ ...Evaluate.defaults, maxTokens: 8, temperature: 1 }, { seed: 5, iteration: 1 })))
          return records.map((r) => ({ ...r, values: Object.fromEntries(Object.entries(r.values).filter(([k]) => !k.startsWith("perf/") && !k.startsWith("timing/"))) }))
        }).pipe(Effect.provide(envLayer), Effect.provide(Fixtures.layer(world.tokenizer, Models.copy(novice), records)))
      })
      const a = yield* once
      const b = yield* once
      expect(a.length).toBeGreaterThan(10)
      expect(new Set(a.map((r) => r.stage))).toEqual(new Set(["sample", "implicit_reward", "inverse_reward", "ppo", "evaluate"]))
      expect(b).toEqual(a)
    }))
})

describe("configs", () => {
  it("decode from {} with their documented defaults and reject bad fields", () => {
    const c = StepAgent.config({})
    expect(c.reward).toBe("implicit")
    expect(c.ppo.clip).toBe(0.2)
    expect(c.ppo.valueClip).toBe(0.2)
    expect(c.ppo.lambda).toBe(0.95)
    expect(c.ppo.gamma).toBe(1)
    expect(c.ppo.klCoef).toBe(0.05)
    expect(c.implicit.beta).toBe(0.1)
    expect(c.sample.k).toBe(1)
    expect(StepAgent.config({ reward: "inverse", ppo: { epochs: 2 } }).ppo.epochs).toBe(2)
    expect(StepAgent.config({ reward: "oracle" }).oracle.batchSize).toBe(64)
    expect(StepAgent.config({ reward: "oracle" }).oracle.shuffle).toBe(false)
    expect(() => StepAgent.config({ reward: "outcome" })).toThrow()
    expect(() => StepAgent.config({ ppo: { clip: -1 } })).toThrow()
    expect(() => Schema.decodeUnknownSync(Sample.Config)({ k: 0 })).toThrow()
  })
})
