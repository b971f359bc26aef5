import { expect, layer } from "@effect/vitest"
import { fc, test } from "@fast-check/vitest"
import { Effect, Layer, Stream } from "effect"
import { describe, it } from "vitest"
import { EOA } from "../../src/data/Tokenizer.ts"
import * as Expert from "../../src/env/Expert.ts"
import * as Discriminator from "../../src/model/Discriminator.ts"
import * as Microbatch from "../../src/model/Microbatch.ts"
import * as Optimizer from "../../src/model/Optimizer.ts"
import * as ModelSample from "../../src/model/Sample.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import type * as Metrics from "../../src/metrics/Metrics.ts"
import * as ActionAccuracy from "../../src/stages/ActionAccuracy.ts"
import * as GradientThreads from "../../src/stages/GradientThreads.ts"
import * as InverseReward from "../../src/stages/InverseReward.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Ppo from "../../src/stages/Ppo.ts"
import * as Preference from "../../src/stages/Preference.ts"
import * as Run from "../../src/stages/Run.ts"
import * as Sample from "../../src/stages/Sample.ts"
import * as Scoring from "../../src/stages/Scoring.ts"
import * as Segment from "../../src/stages/Segment.ts"
import * as Sft from "../../src/stages/Sft.ts"
import { StageError } from "../../src/stages/StageError.ts"
import * as Fixtures from "./Fixtures.ts"
import * as World from "./World.ts"

/** The real helper threads, counting the passes they were given (a shared step that gave them none would prove nothing). */
const counted = (threads: number) => {
  const posted = { passes: 0, scored: 0, sampled: 0 }
  const counting = Layer.effect(
    GradientThreads.GradientThreads,
    Effect.gen(function*() {
      const real = yield* GradientThreads.GradientThreads
      return {
        threads: real.threads,
        live: real.live,
        submit: (helper, config, names, weights, passes) => {
          posted.passes += passes.length
          return real.submit(helper, config, names, weights, passes)
        },
        score: (helper, config, names, weights, head, batches) => {
          posted.scored += batches.length
          return real.score(helper, config, names, weights, head, batches)
        },
        sample: (helper, config, names, weights, part) => {
          posted.sampled += part.requests.length
          return real.sample(helper, config, names, weights, part)
        }
      } satisfies GradientThreads.GradientThreads["Service"]
    })
  ).pipe(Layer.provide(GradientThreads.layer(threads, { backend: "wasm", matmul: "xnnpack", threads: 1 })))
  return { posted, counting }
}

/** Two threads whose helper fails every request of one kind (as a helper that died would): the learner takes its work. */
const failingHelper = (kind: "score" | "sample") =>
  Layer.effect(
    GradientThreads.GradientThreads,
    Effect.map(GradientThreads.GradientThreads, (real) => ({
      ...real,
      [kind]: () => Effect.fail(new StageError({ reason: "ThreadFailed", stage: "gradient-threads", step: 0, message: "gradient thread: exited (70)" }))
    }))
  ).pipe(Layer.provide(GradientThreads.layer(2, { backend: "wasm", matmul: "xnnpack", threads: 1 })))

layer(World.layerSignals({ train: 24, heldOut: 1 }), { timeout: 120_000 })("SFT with its passes shared by threads", (it) => {
  it.effect("gives the same weights and records to the bit on 1, 2 and 3 threads (copy head, observation loss, several passes a step)", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const config: Transformer.Config = { ...world.config, copyHead: true, copyMatch: true }
      const data = [...world.train, ...world.train] // 12 steps of 4
      const sft = { ...Sft.defaults, batchSize: 4, learningRate: 3e-3, observationLossWeight: 0.25, minPasses: 3 }
      const train = (threads: Layer.Layer<GradientThreads.GradientThreads>) => {
        const records: Array<Metrics.MetricRecord> = []
        return Effect.gen(function*() {
          yield* Stream.runDrain(Sft.sft(sft, Fixtures.at)(Stream.fromIterable(data)))
          return { weights: Fixtures.weights(yield* (yield* Models.Models).get("policy")), records }
        }).pipe(Effect.provide(Layer.merge(Fixtures.layer(world.tokenizer, Transformer.init(config, 4), records, { reference: false }), threads)))
      }
      const one = yield* train(GradientThreads.serial)
      const two = counted(2)
      const shared = yield* train(two.counting)
      const three = counted(3)
      const sharedThree = yield* train(three.counting)
      expect(two.posted.passes).toBeGreaterThanOrEqual(12) // every step gave the helper at least one of its 3 passes
      expect(three.posted.passes).toBeGreaterThanOrEqual(24)
      const losses = (r: typeof one) => r.records.map((x) => x.values["loss/sft"])
      expect(one.records.length).toBe(12)
      expect(losses(shared)).toEqual(losses(one))
      expect(losses(sharedThree)).toEqual(losses(one))
      expect(shared.records.map((x) => x.values["sft/token_accuracy"])).toEqual(one.records.map((x) => x.values["sft/token_accuracy"]))
      expect(Fixtures.sameWeights(shared.weights, one.weights)).toBe(true)
      expect(Fixtures.sameWeights(sharedThree.weights, one.weights)).toBe(true)
      // and training moved them (equal because trained alike, not because nothing happened)
      expect(Fixtures.sameWeights(one.weights, Fixtures.weights(Transformer.init(config, 4)))).toBe(false)
    }))

  it.effect("PPO's and DPO's updates give the same weights and statistics to the bit on 1 and 2 threads (minPasses 2: split by trajectory)", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const config: Transformer.Config = { ...world.config, copyHead: true, copyMatch: true }
      // one-step episodes at the first two states of 8 trajectories, rewarded by a pattern; the agent's "wrong" action at
      // a state is the next trajectory's expert action there
      const segments = world.train.slice(0, 8).flatMap((trajectory) => [0, 1].map((step) => ({ trajectory, step })))
      const episodes = segments.map((segment, i): Ppo.Episode => ({ segment, tokens: Segment.expertAction(segment), reward: (i * 7) % 5 - 2 }))
      const wrong = segments.map((segment, i) => ({ segment, sample: 0, tokens: Segment.expertAction(segments[(i + 2) % segments.length]!), logp: new Float32Array(0), values: new Float32Array(0), stopped: true, text: "" }))
      const update = (threads: Layer.Layer<GradientThreads.GradientThreads>) =>
        Effect.gen(function*() {
          const policy = Transformer.init(config, 6)
          const reference = Transformer.init(config, 6)
          const opt = Optimizer.make(Transformer.named(policy.weights), { learningRate: 1e-3 })
          const ppo = yield* Ppo.batch(policy, reference, opt, episodes, { ...Ppo.defaults, batchSize: 16, minibatchSize: 8, epochs: 2 }, Run.rng(Fixtures.at, "ppo"))
          const pairs = Preference.pairs(config.contextLength, wrong)
          const dpo = yield* Preference.train(policy, opt, pairs, Preference.logps(reference, pairs, 8192), { beta: 0.1, maxTokens: 8192, nllCoef: 0.5, minPasses: 2 }, 3)
          const out = { ppo, dpo, weights: Fixtures.weights(policy) }
          Transformer.dispose(policy)
          Transformer.dispose(reference)
          Optimizer.dispose(opt)
          return out
        }).pipe(Effect.provide(threads))
      const one = yield* update(GradientThreads.serial)
      const two = counted(2)
      const shared = yield* update(two.counting)
      expect(two.posted.passes).toBeGreaterThanOrEqual(4 + 3) // each of PPO's 4 updates and DPO's 3 gave the helper a pass
      expect(one.ppo.ok && one.dpo.ok).toBe(true)
      expect(shared.ppo).toEqual(one.ppo)
      expect(shared.dpo).toEqual(one.dpo)
      expect(Fixtures.sameWeights(shared.weights, one.weights)).toBe(true)
      expect(Fixtures.sameWeights(one.weights, Fixtures.weights(Transformer.init(config, 6)))).toBe(false)
    }))

  it.effect("scorings (logp, tokenLogp, discriminator) give the same numbers to the bit on 1 and 2 threads; a helper that fails leaves its passes to the learner", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const policy = Transformer.init({ ...world.config, copyHead: true, copyMatch: true }, 5)
      const discriminator = Discriminator.init(Discriminator.config(world.config), 9)
      // every state of 8 trajectories: the expert's action and another of its own length
      const wrong = Int32Array.from([...world.tokenizer.encode("press 9 now"), EOA])
      const requests = world.train.slice(0, 8).flatMap(Segment.all).flatMap((s) => [
        { trajectory: s.trajectory, step: s.step },
        { trajectory: s.trajectory, step: s.step, action: wrong }
      ])
      const all = (threads: Layer.Layer<GradientThreads.GradientThreads>) =>
        Effect.all([
          Scoring.scores(policy, world.tokenizer, "logp", requests, 8192),
          Scoring.scores(policy, world.tokenizer, "tokenLogp", requests, 8192),
          Scoring.scores(discriminator, world.tokenizer, "discriminator", requests, 8192)
        ], { concurrency: 3 }).pipe(Effect.provide(threads))
      const one = yield* all(GradientThreads.serial)
      const two = counted(2)
      const shared = yield* all(two.counting)
      expect(two.posted.scored).toBeGreaterThanOrEqual(3) // each scoring gave the helper at least one of its passes
      expect(shared).toEqual(one)
      expect(one[0].length).toBe(requests.length)
      expect(one[2].length).toBe(requests.length)
      expect(Array.from(one[0]).every(Number.isFinite) && Array.from(one[2]).every(Number.isFinite)).toBe(true)
      // the same numbers as the plain in-process computation (what a cluster worker runs)
      expect(one[1]).toEqual(Scoring.compute(policy, "tokenLogp", requests, 8192))
      // a helper whose scoring fails: its passes are computed here, with the same numbers
      expect(yield* all(failingHelper("score"))).toEqual(one)
      Transformer.dispose(policy)
      Transformer.dispose(discriminator)
    }))

  it.effect("the discriminator's updates (inverse reward) give the same weights, rewards and records to the bit on 1 and 2 threads", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const wrong = Int32Array.from([...world.tokenizer.encode("press 9 now"), EOA])
      const items = world.train.slice(0, 8).flatMap(Segment.all).map((segment, i) => {
        const tokens = i % 3 === 0 ? Segment.expertAction(segment) : wrong
        return { segment, sample: 0, tokens, logp: new Float32Array(tokens.length), values: new Float32Array(tokens.length), stopped: true, text: "" }
      })
      const config = { ...InverseReward.defaults, batchSize: 16, warmupSteps: 2, minibatchSize: 8 }
      const rewarded = (threads: Layer.Layer<GradientThreads.GradientThreads>) => {
        const records: Array<Metrics.MetricRecord> = []
        return Effect.gen(function*() {
          yield* Models.ensureDiscriminatorFromPolicy
          const out = yield* Stream.runCollect(Stream.fromIterable(items).pipe(InverseReward.inverseReward(config, Fixtures.at)))
          const values = records.map((r) => Object.entries(r.values).filter(([k]) => !k.startsWith("timing/")))
          return { rewards: Array.from(out, (r) => r.reward), weights: Fixtures.weights(yield* (yield* Models.Models).get("discriminator")), values }
        }).pipe(Effect.provide(Layer.merge(Fixtures.layer(world.tokenizer, Transformer.init(world.config, 4), records, { reference: false }), threads)))
      }
      const one = yield* rewarded(GradientThreads.serial)
      const two = counted(2)
      const shared = yield* rewarded(two.counting)
      expect(two.posted.passes).toBeGreaterThan(0) // the helper computed some of D's passes
      expect(one.rewards).toHaveLength(items.length)
      expect(one.values.some((v) => v.some(([k]) => k === "loss/disc"))).toBe(true) // D took updates
      expect(shared.rewards).toEqual(one.rewards)
      expect(shared.values).toEqual(one.values)
      expect(Fixtures.sameWeights(shared.weights, one.weights)).toBe(true)
    }))

  it.effect("sampling in parts gives the same actions to the bit on 1 and 2 threads and with a failing helper; one part is the batch's one stream; the action accuracy too", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const policy = Transformer.init({ ...world.config, copyHead: true, copyMatch: true }, 5)
      const segments = world.train.slice(0, 8).flatMap(Segment.all)
      const sampled = (threads: Layer.Layer<GradientThreads.GradientThreads>, config: Sample.Config = { ...Sample.defaults, k: 2 }) =>
        Effect.gen(function*() {
          const out = yield* Stream.runCollect(Stream.fromIterable(segments).pipe(Sample.sample(config, Fixtures.at)))
          return Array.from(out, (a) => ({ tokens: Array.from(a.tokens), logp: Array.from(a.logp), values: Array.from(a.values), stopped: a.stopped }))
        }).pipe(Effect.provide(Layer.merge(Fixtures.layer(world.tokenizer, Models.copy(policy), [], { reference: false }), threads)))
      const one = yield* sampled(GradientThreads.serial)
      const two = counted(2)
      const shared = yield* sampled(two.counting)
      expect(two.posted.sampled).toBeGreaterThan(0) // the helper sampled a part
      expect(one).toHaveLength(segments.length * 2)
      expect(shared).toEqual(one)
      expect(yield* sampled(failingHelper("sample"))).toEqual(one)
      // `parts: 1`: the batch's one stream, as before parts
      const whole = yield* sampled(GradientThreads.serial, { ...Sample.defaults, k: 2, parts: 1 })
      const direct = ModelSample.states(policy, segments, 2, Run.rng(Fixtures.at, Sample.stage, 0), { maxTokens: Sample.defaults.maxTokens, temperature: 1, stop: EOA })
      expect(whole.map((a) => a.tokens)).toEqual(Array.from({ length: direct.rows }, (_, r) => Array.from(ModelSample.row(direct, r).tokens)))
      expect(whole).not.toEqual(one) // two parts draw from two streams
      // the action accuracy's greedy chunks in halves on the two threads: the same result
      const raw = Array.from({ length: 8 }, (_, i) => Expert.trajectory(world.sim, `train:${i}`, { thoughts: false, seed: 0 }))
      const accuracy = (threads: Layer.Layer<GradientThreads.GradientThreads>) =>
        ActionAccuracy.actionAccuracy(raw).pipe(Effect.provide(Layer.merge(Fixtures.layer(world.tokenizer, Models.copy(policy), [], { reference: false }), threads)))
      const alone = yield* accuracy(GradientThreads.serial)
      const before = two.posted.sampled
      expect(yield* accuracy(two.counting)).toEqual(alone)
      expect(two.posted.sampled).toBeGreaterThan(before)
      expect(alone.states).toBeGreaterThan(0)
      Transformer.dispose(policy)
    }))

  it.effect("a helper given weights that are not its model's fails the step with one line (ThreadFailed)", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const failure = yield* Effect.gen(function*() {
        const threads = yield* GradientThreads.GradientThreads
        const wait = yield* threads.submit(1, world.config, ["not.a.weight"], [new Float32Array(1)], [])
        return yield* wait
      }).pipe(Effect.flip, Effect.provide(GradientThreads.layer(2, { backend: "wasm", matmul: "xnnpack", threads: 1 })))
      expect(failure.reason).toBe("ThreadFailed")
      expect(failure.message).toMatch(/^gradient thread: .*weights sent are not the model's/)
      expect(failure.message).not.toContain("\n")
    }))
})

describe("Microbatch.plan with minPasses", () => {
  test.prop([fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 64, max: 4096 }), fc.integer({ min: 1, max: 6 })])(
    "puts every unit in exactly one pass, within the budget (a larger unit alone), in a multiple of minPasses (or one a unit), balanced",
    (lengths, maxTokens, minPasses) => {
      const plain = Microbatch.plan(lengths, maxTokens)
      const out = Microbatch.plan(lengths, maxTokens, 1, minPasses)
      expect(out.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i))
      expect(out.every((p) => p.length > 0)).toBe(true)
      const padded = (p: ReadonlyArray<number>) => p.length * Math.max(...p.map((i) => lengths[i]!))
      for (const p of out) if (p.length > 1) expect(padded(p)).toBeLessThanOrEqual(maxTokens)
      if (minPasses === 1) {
        expect(out).toEqual(plain)
        return
      }
      expect(out.length).toBeGreaterThanOrEqual(Math.min(minPasses, lengths.length))
      expect(out.length).toBeGreaterThanOrEqual(plain.length)
      if (out.length < lengths.length) expect(out.length % minPasses).toBe(0)
      // a split pass holds no more padded tokens than the single pass it replaces
      if (plain.length === 1) for (const p of out) expect(padded(p)).toBeLessThanOrEqual(padded(plain[0]!))
    }
  )

  it("deals a step the budget cuts into equal halves, not a full pass and a remainder", () => {
    // 22 packed sequences of 486 and fewer tokens against 8,192 (qa's implicit reward scoring): 16 + 6 when filled
    const lengths = Array.from({ length: 22 }, (_, i) => i < 16 ? 486 : 404)
    expect(Microbatch.plan(lengths, 8192).map((p) => p.length)).toEqual([16, 6])
    expect(Microbatch.plan(lengths, 8192, 1, 2).map((p) => p.length)).toEqual([11, 11])
  })
})

describe("GradientThreads.assign", () => {
  test.prop([fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 30 }), fc.integer({ min: 1, max: 5 })])(
    "gives every pass a thread, the learner's first, and no thread more than its fair share plus one pass",
    (costs, threads) => {
      const owner = GradientThreads.assign(costs, threads)
      expect(owner.length).toBe(costs.length)
      expect(Array.from(owner).every((o) => o >= 0 && o < threads)).toBe(true)
      const load = new Array<number>(threads).fill(0)
      costs.forEach((c, i) => {
        load[owner[i]!] = load[owner[i]!]! + c
      })
      const total = costs.reduce((a, b) => a + b, 0)
      for (const l of load) expect(l).toBeLessThanOrEqual(total / threads + Math.max(0, ...costs))
      if (threads === 1) expect(Array.from(owner).every((o) => o === 0)).toBe(true)
    }
  )
})
