import { expect, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import { EOA } from "../../src/data/Tokenizer.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import type * as Metrics from "../../src/metrics/Metrics.ts"
import * as Microbatch from "../../src/model/Microbatch.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Ppo from "../../src/stages/Ppo.ts"
import * as Segment from "../../src/stages/Segment.ts"
import * as StageError from "../../src/stages/StageError.ts"
import { at } from "./Fixtures.ts"
import * as Fixtures from "./Fixtures.ts"
import * as World from "./World.ts"

/** The world of every test here (built for each block below). */
const worldLayer = World.layerSignals({ train: 24, heldOut: 4 })

/** One-step episodes: the expert's action and key `k` at the first state of the first trajectories. */
const episodes = (world: World.World, n: number, reward: (i: number) => number): Array<Ppo.Episode> =>
  Array.from({ length: n }, (_, i) => {
    const segment = { trajectory: world.train[i % world.train.length]!, step: 0 }
    return { segment, tokens: Segment.expertAction(segment), reward: reward(i) }
  })

/**
 * Runs PPO over the episodes, then `inspect` reads the policy inside the layer's scope (it is disposed after). The
 * records are what the stage logged (its one metrics path): its stream carries nothing.
 */
const ppoRun = <A>(config: Ppo.Config, eps: ReadonlyArray<Ppo.Episode>, policy: Transformer.Model, inspect: (p: Transformer.Model) => A) =>
  Effect.gen(function*() {
    const world = yield* World.SignalsWorld
    const records: Array<Metrics.MetricRecord> = []
    return yield* Effect.gen(function*() {
      const out = yield* Stream.runCollect(Ppo.ppo(config, at)(Stream.fromIterable(eps)))
      expect(out).toHaveLength(0)
      return { records, after: inspect(yield* (yield* Models.Models).get("policy")) }
    }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, policy, records)))
  })

layer(worldLayer)("ppo", (it) => {
  it.effect("first update: ratio 1 (approxkl 0, clipfrac 0), zero KL against a fresh reference, zero surrogate for whitened advantages", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const policy = World.fresh(world)
      const eps = episodes(world, 12, (i) => i % 3)
      const { records: out } = yield* ppoRun({ ...Ppo.defaults, batchSize: 12, minibatchSize: 12, epochs: 1 }, eps, policy, () => undefined)
      expect(out.length).toBe(1)
      const v = out[0]!.values
      expect(Math.abs(v["policy/approxkl"]!)).toBeLessThan(1e-7)
      expect(v["policy/clipfrac"]).toBe(0)
      expect(Math.abs(v["objective/kl"]!)).toBeLessThan(1e-6)
      expect(Math.abs(v["loss/policy"]!)).toBeLessThan(1e-5) // -E[A * 1] over whitened A
      expect(v["reward/step_mean"]).toBeCloseTo(eps.reduce((s, e) => s + e.reward, 0) / eps.length, 6)
      expect(v["loss/value"]).toBeGreaterThan(0)
      expect(out[0]!.step).toBe(1)
    }))

  it.effect("raises the probability of an action rewarded above another at the same state, and lowers the other", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const policy = World.fresh(world, 5)
      const segment = { trajectory: world.train[0]!, step: 0 }
      const good = Segment.expertAction(segment)
      const bad = Int32Array.from([...world.tokenizer.encode("press 9"), EOA])
      const before = Score.segments(policy, [{ ...segment, action: good }, { ...segment, action: bad }]).sum
      const eps = Array.from({ length: 16 }, (_, i) => ({ segment, tokens: i % 2 === 0 ? good : bad, reward: i % 2 === 0 ? 1 : -1 }))
      const { after } = yield* ppoRun({ ...Ppo.defaults, batchSize: 16, minibatchSize: 8, epochs: 4, learningRate: 1e-3 }, eps, policy, (p) =>
        Score.segments(p, [{ ...segment, action: good }, { ...segment, action: bad }]).sum)
      expect(after[0]! - before[0]!).toBeGreaterThan(0.05)
      expect(after[1]! - before[1]!).toBeLessThan(-0.05)
    }))

  it.effect("stops a batch's epochs early once a minibatch's approximate KL exceeds targetKl", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const eps = episodes(world, 8, (i) => i % 2)
      const config = { ...Ppo.defaults, batchSize: 8, minibatchSize: 2, epochs: 4, learningRate: 1e-2 }
      const full = yield* ppoRun(config, eps, World.fresh(world), () => undefined)
      const early = yield* ppoRun({ ...config, targetKl: 1e-6 }, eps, World.fresh(world), () => undefined)
      expect(full.records).toHaveLength(16)
      expect(early.records.length).toBeLessThan(16)
      expect(early.records[early.records.length - 1]!.values["policy/approxkl"]!).toBeGreaterThan(1e-6)
      expect(early.records.every((r) => r.values["policy/early_stop"] === 1)).toBe(true)
    }))

  it.effect("accumulates gradients exactly: micro-batches of a few tokens give the update of one pass", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const eps = episodes(world, 8, (i) => (i * 7) % 5 - 2)
      const config = { ...Ppo.defaults, batchSize: 8, minibatchSize: 8, epochs: 2, learningRate: 1e-3 }
      const a = World.fresh(world, 9)
      const b = Models.copy(a)
      const one = yield* ppoRun(config, eps, a, Fixtures.weights)
      const many = yield* ppoRun({ ...config, maxTokens: 60 }, eps, b, Fixtures.weights)
      expect(Microbatch.plan(eps.map((e) => Tokenized.obsEnd(e.segment.trajectory, 0) + e.tokens.length), 60).length).toBeGreaterThan(2)
      for (const k of ["loss/policy", "loss/value", "policy/entropy", "policy/approxkl"]) {
        one.records.forEach((r, i) => expect(Math.abs(r.values[k]! - many.records[i]!.values[k]!)).toBeLessThan(1e-4))
      }
      const wa = one.after
      const wb = many.after
      let diff = 0
      wa.forEach((x, i) => x.forEach((v, j) => diff = Math.max(diff, Math.abs(v - wb[i]![j]!))))
      expect(diff).toBeLessThan(1e-5)
    }))
})

layer(worldLayer)("ptx: the expert's action in PPO's minibatches", (it) => {
  /** Every state of the first trajectories, the agent's action there a wrong one, with varied rewards. */
  const wrong = (world: World.World): Array<Ppo.Episode> => {
    const bad = Int32Array.from([...world.tokenizer.encode("press 9"), EOA])
    return world.train.slice(0, 4).flatMap(Segment.all).map((segment, i) => ({ segment, tokens: bad, reward: (i * 5) % 3 }))
  }
  const expertLogp = (p: Transformer.Model, eps: ReadonlyArray<Ppo.Episode>) =>
    Score.segments(p, eps.map((e) => ({ trajectory: e.segment.trajectory, step: e.segment.step }))).sum

  it.effect("the expert rows stay out of PPO's terms: with a vanishing ptxCoef the statistics are PPO's alone", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const eps = wrong(world)
      const config = { ...Ppo.defaults, batchSize: eps.length, minibatchSize: eps.length, epochs: 1 }
      const run = (ptxCoef: number) =>
        Effect.gen(function*() {
          const records: Array<Metrics.MetricRecord> = []
          yield* Stream.runDrain(Ppo.ppo(config, at, Ppo.stage, { ptxCoef })(Stream.fromIterable(eps))).pipe(Effect.provide(Fixtures.layer(world.tokenizer, World.fresh(world, 3), records)))
          return records[0]!.values
        })
      const without = yield* run(0)
      const tiny = yield* run(1e-30)
      expect(without["loss/ptx"]).toBeUndefined()
      expect(tiny["loss/ptx"]).toBeGreaterThan(0)
      for (const k of ["loss/policy", "loss/value", "policy/entropy", "policy/approxkl", "objective/kl"]) {
        expect(Math.abs(tiny[k]! - without[k]!)).toBeLessThan(1e-5)
      }
    }))

  it.effect("loss/ptx is the expert actions' mean token negative log-likelihood before the update, and ptx raises their likelihood", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const eps = wrong(world)
      const policy = World.fresh(world, 4)
      const expertTokens = eps.reduce((n, e) => n + Segment.expertAction(e.segment).length, 0)
      const before = expertLogp(policy, eps)
      const meanNll = -before.reduce((a, b) => a + b, 0) / expertTokens
      const config = { ...Ppo.defaults, batchSize: eps.length, minibatchSize: eps.length, epochs: 4, learningRate: 1e-3 }
      const run = (ptxCoef: number, p: Transformer.Model) =>
        Effect.gen(function*() {
          const records: Array<Metrics.MetricRecord> = []
          const after = yield* Effect.gen(function*() {
            yield* Stream.runDrain(Ppo.ppo(config, at, Ppo.stage, { ptxCoef })(Stream.fromIterable(eps)))
            return expertLogp(yield* (yield* Models.Models).get("policy"), eps)
          }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, p, records)))
          return { records, after }
        })
      const ptx = yield* run(1, Models.copy(policy))
      const plain = yield* run(0, policy)
      expect(ptx.records[0]!.values["loss/ptx"]).toBeCloseTo(meanNll, 4)
      const gain = (r: { readonly after: Float32Array }) => r.after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)
      expect(gain(ptx)).toBeGreaterThan(gain(plain) + 0.5 * eps.length)
      expect(ptx.records[ptx.records.length - 1]!.values["loss/ptx"]!).toBeLessThan(meanNll)
    }))
})

layer(worldLayer)("the reference's log-probs given by the reward stage", (it) => {
  it.effect("given per-token reference log-probs replace PPO's own scoring of the reference: the same ones change nothing, shifted ones shift the KL", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const bad = Int32Array.from([...world.tokenizer.encode("press 9"), EOA])
      const eps: Array<Ppo.Episode> = world.train.slice(0, 4).flatMap(Segment.all).map((segment, i) => ({ segment, tokens: i % 2 === 0 ? bad : Segment.expertAction(segment), reward: i % 3 }))
      const config = { ...Ppo.defaults, batchSize: eps.length, minibatchSize: 8, epochs: 1, learningRate: 1e-3 }
      // the reference is the fixture's copy of the policy as it starts: its log-probs, scored as PPO scores them
      const policy = World.fresh(world, 6)
      const s = Score.packed(policy, eps.map((e) => ({ trajectory: e.segment.trajectory, step: e.segment.step, action: e.tokens })), { maxTokens: config.maxTokens })
      const refOf = (shift: number) => eps.map((e, i) => Float32Array.from(s.logp.subarray(i * s.width, i * s.width + e.tokens.length), (x) => x + shift))
      const run = (given: ReadonlyArray<Float32Array> | undefined) =>
        ppoRun(config, given === undefined ? eps : eps.map((e, i) => ({ ...e, refLogp: given[i]! })), Models.copy(policy), Fixtures.weights)
      const own = yield* run(undefined)
      const same = yield* run(refOf(0))
      const shifted = yield* run(refOf(0.5))
      expect(same.records.map((r) => r.values["loss/policy"])).toEqual(own.records.map((r) => r.values["loss/policy"]))
      expect(Fixtures.sameWeights(same.after, own.after)).toBe(true)
      // objective/kl is the batch's mean summed (log π_old - log π_ref) an action: 0.5 lower on every token
      const meanTokens = eps.reduce((n, e) => n + e.tokens.length, 0) / eps.length
      expect(own.records[0]!.values["objective/kl"]!).toBeCloseTo(0, 5)
      expect(shifted.records[0]!.values["objective/kl"]!).toBeCloseTo(-0.5 * meanTokens, 4)
      Transformer.dispose(policy)
    }))

  it.effect("given the sampled policy's per-token log-probs and values, PPO does not score its old policy: the same ones change nothing, shifted ones move the ratio and the KL", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const bad = Int32Array.from([...world.tokenizer.encode("press 9"), EOA])
      const eps: Array<Ppo.Episode> = world.train.slice(0, 4).flatMap(Segment.all).map((segment, i) => ({ segment, tokens: i % 2 === 0 ? bad : Segment.expertAction(segment), reward: i % 3 }))
      const config = { ...Ppo.defaults, batchSize: eps.length, minibatchSize: eps.length, epochs: 1, learningRate: 1e-3 }
      const policy = World.fresh(world, 7)
      const s = Score.packed(policy, eps.map((e) => ({ trajectory: e.segment.trajectory, step: e.segment.step, action: e.tokens })), { maxTokens: config.maxTokens })
      const rowsOf = (x: Float32Array, shift: number) => eps.map((e, i) => Float32Array.from(x.subarray(i * s.width, i * s.width + e.tokens.length), (v) => v + shift))
      const run = (logpShift: number | undefined, valueShift = 0, drop = -1) =>
        ppoRun(config, logpShift === undefined ? eps : eps.map((e, i) => ({
          ...e,
          logp: rowsOf(s.logp, logpShift)[i]!,
          ...(i === drop ? {} : { values: rowsOf(s.values, valueShift)[i]! })
        })), Models.copy(policy), Fixtures.weights)
      const own = yield* run(undefined)
      const same = yield* run(0)
      expect(same.records.map((r) => r.values)).toEqual(own.records.map((r) => r.values))
      expect(Fixtures.sameWeights(same.after, own.after)).toBe(true)
      // one episode without its values: PPO scores the old policy itself, as without any
      const partial = yield* run(0.5, 0, 3)
      expect(partial.records.map((r) => r.values)).toEqual(own.records.map((r) => r.values))
      // log-probs 0.5 higher than the policy's: objective/kl (old minus reference) 0.5 higher a token, the ratio below 1
      const meanTokens = eps.reduce((n, e) => n + e.tokens.length, 0) / eps.length
      const shifted = yield* run(0.5)
      expect(shifted.records[0]!.values["objective/kl"]! - own.records[0]!.values["objective/kl"]!).toBeCloseTo(0.5 * meanTokens, 4)
      expect(shifted.records[0]!.values["policy/approxkl"]!).toBeGreaterThan(0.1)
      expect(shifted.records[0]!.values["policy/clipfrac"]!).toBeGreaterThan(0.2) // ratio e^-0.5: clipped where the advantage is negative
      // values 1 higher: the returns and the value loss move, the weights with them
      const valued = yield* run(0, 1)
      expect(valued.records[0]!.values["loss/value"]).not.toBeCloseTo(own.records[0]!.values["loss/value"]!, 3)
      expect(Fixtures.sameWeights(valued.after, own.after)).toBe(false)
      Transformer.dispose(policy)
    }))
})

layer(worldLayer)("minibatch order", (it) => {
  it.effect("grouped minibatches hold whole trajectories, whose states pack into shared trunks: fewer padded tokens than shuffled", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      // every step of 8 trajectories, each the expert's action
      const eps = world.train.slice(0, 8).flatMap(Segment.all).map((segment, i) => ({ segment, tokens: Segment.expertAction(segment), reward: i % 3 }))
      expect(eps.length).toBeGreaterThan(16)
      const config = { ...Ppo.defaults, batchSize: eps.length, minibatchSize: 8, epochs: 2 }
      const padded = (r: { readonly records: ReadonlyArray<Metrics.MetricRecord> }) => r.records[0]!.values["perf/padded_tokens"]!
      const grouped = yield* ppoRun(config, eps, World.fresh(world), () => undefined)
      const shuffled = yield* ppoRun({ ...config, minibatchOrder: "shuffled" }, eps, World.fresh(world), () => undefined)
      expect(grouped.records).toHaveLength(shuffled.records.length)
      expect(padded(grouped)).toBeLessThan(0.8 * padded(shuffled))
    }))
})

layer(worldLayer)("bad input", (it) => {
  it.effect("a non-finite PPO loss stops the stage with a StageError naming stage, step and metric; the policy is as before", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const policy = World.fresh(world)
      const before = Fixtures.weights(policy)
      const records: Array<Metrics.MetricRecord> = []
      const eps = episodes(world, 8, (i) => (i % 2 === 0 ? 3e38 : -3e38)) // finite rewards whose squared returns overflow float32
      const { after, failure } = yield* Effect.gen(function*() {
        const failure = yield* Effect.flip(Stream.runCollect(Ppo.ppo({ ...Ppo.defaults, batchSize: 8, minibatchSize: 8, whitenRewards: false }, at)(Stream.fromIterable(eps))).pipe(Effect.catchTag("MetricsError", Effect.die))) // the memory sink never fails
        return { failure, after: Fixtures.weights(yield* (yield* Models.Models).get("policy")) }
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, policy, records)))
      expect(failure).toBeInstanceOf(StageError.StageError)
      expect(failure.reason).toBe("NonFinite")
      expect(failure.stage).toBe("ppo")
      expect(failure.step).toBe(1)
      expect(failure.metric).toBe("loss/value")
      expect(failure.message).toContain("ppo")
      expect(failure.message).toContain("loss/value")
      expect(Fixtures.sameWeights(after, before)).toBe(true)
      expect(records.filter((r) => r.stage === "ppo")).toEqual([])
    }))
})
