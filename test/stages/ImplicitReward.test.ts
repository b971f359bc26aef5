import { expect, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { EOA } from "../../src/data/Tokenizer.ts"
import type * as Metrics from "../../src/metrics/Metrics.ts"
import * as Optimizer from "../../src/model/Optimizer.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as ImplicitReward from "../../src/stages/ImplicitReward.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Preference from "../../src/stages/Preference.ts"
import type * as Sample from "../../src/stages/Sample.ts"
import * as Segment from "../../src/stages/Segment.ts"
import * as Fixtures from "./Fixtures.ts"
import * as World from "./World.ts"

/** The agent's action "press 9" at every segment's state. */
const pressNine = (tokenizer: World.World["tokenizer"], segments: ReadonlyArray<Segment.Segment>): Array<Sample.AgentAction> =>
  segments.map((segment) => {
    const tokens = Int32Array.from([...tokenizer.encode("press 9"), EOA])
    return { segment, sample: 0, tokens, logp: new Float32Array(tokens.length), values: new Float32Array(tokens.length), stopped: true, text: "press 9" }
  })

/** On the behaviour world from the shared "novice" (World.novice: 150 SFT steps). */
layer(World.layerNovice)("implicit reward", (it) => {
  it.effect("after DPO training, ranks the expert's action above a random valid action at held-out states", () =>
    Effect.gen(function*() {
      const { world, heldOut } = yield* World.BehaviourWorld
      const { novice } = yield* World.Novice
      const keys = Array.from({ length: 8 }, (_, k) => Int32Array.from([...world.tokenizer.encode(`press ${k}`), EOA]))
      /** The agent here is a random policy over the valid actions (never the expert's key). */
      const randomAction = (s: Segment.Segment, i: number): Int32Array => {
        const expert = world.tokenizer.decode(Segment.expertAction(s))
        const others = keys.filter((k) => world.tokenizer.decode(k) !== expert)
        return others[(i * 5 + s.step) % others.length]!
      }
      const agent = (segs: ReadonlyArray<Segment.Segment>): Array<Sample.AgentAction> =>
        segs.map((segment, i) => {
          const tokens = randomAction(segment, i)
          return { segment, sample: 0, tokens, logp: new Float32Array(tokens.length), values: new Float32Array(tokens.length), stopped: true, text: world.tokenizer.decode(tokens) }
        })
      const records: Array<Metrics.MetricRecord> = []
      const config = { ...ImplicitReward.defaults, batchSize: 64, steps: 8, minibatchSize: 64, learningRate: 1e-3 }
      const ranked = yield* Effect.gen(function*() {
        yield* Models.ensureReward
        yield* Stream.runDrain(Stream.fromIterable(agent(world.train.slice(0, 100).flatMap(Segment.all))).pipe(ImplicitReward.implicitReward(config, { seed: 1, iteration: 0 })))
        const models = yield* Models.Models
        const phi = yield* models.get("reward")
        const ref = yield* models.get("reference")
        const pairs = Preference.pairs(phi.config.contextLength, agent(heldOut))
        const r = Preference.rewards(phi, pairs, Preference.logps(ref, pairs, 8192), config.beta, 8192)
        return { above: r.chosen.filter((c, i) => c > r.rejected[i]!).length / pairs.n, margin: r.chosen.reduce((s, c, i) => s + c - r.rejected[i]!, 0) / pairs.n }
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Models.copy(novice), records)))
      const dpo = records.filter((r) => r.stage === "implicit_reward")
      expect(dpo[dpo.length - 1]!.values["dpo/accuracy"]!).toBeGreaterThan(0.75)
      expect(dpo[dpo.length - 1]!.values["reward/expert_mean"]!).toBeGreaterThan(dpo[dpo.length - 1]!.values["reward/step_mean"]!)
      expect(ranked.above).toBeGreaterThan(0.75) // chance: 0.5
      expect(ranked.margin).toBeGreaterThan(0.1)
    }))

  it.effect("trains on the pairs where the agent's action differs from the expert's only: a batch of expert actions changes nothing", () =>
    Effect.gen(function*() {
      const { world } = yield* World.BehaviourWorld
      const { novice } = yield* World.Novice
      const segments = world.train.slice(0, 10).flatMap(Segment.all)
      const half = (i: number) => i % 2 === 0
      // the agent wrote the expert's action at every state (first batch), then at every other state (second batch)
      const actions = (differ: (i: number) => boolean): Array<Sample.AgentAction> =>
        segments.map((segment, i) => {
          const expert = Segment.expertAction(segment)
          const tokens = differ(i) ? Int32Array.from([...world.tokenizer.encode("press 9"), EOA]) : expert
          return { segment, sample: 0, tokens, logp: new Float32Array(tokens.length), values: new Float32Array(tokens.length), stopped: true, text: world.tokenizer.decode(tokens) }
        })
      const records: Array<Metrics.MetricRecord> = []
      const config = { ...ImplicitReward.defaults, batchSize: segments.length, steps: 4, minibatchSize: 8, learningRate: 1e-3 }
      const { start, afterSame, afterHalf } = yield* Effect.gen(function*() {
        yield* Models.ensureReward
        const models = yield* Models.Models
        const start = Fixtures.weights(yield* models.get("reward"))
        yield* Stream.runDrain(Stream.fromIterable(actions(() => false)).pipe(ImplicitReward.implicitReward(config, { seed: 1, iteration: 0 })))
        const afterSame = Fixtures.weights(yield* models.get("reward"))
        yield* Stream.runDrain(Stream.fromIterable(actions(half)).pipe(ImplicitReward.implicitReward(config, { seed: 1, iteration: 1 })))
        return { start, afterSame, afterHalf: Fixtures.weights(yield* models.get("reward")) }
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Models.copy(novice), records)))
      expect(Fixtures.sameWeights(afterSame, start)).toBe(true)
      expect(Fixtures.sameWeights(afterHalf, start)).toBe(false)
      const [same, mixed] = records.filter((r) => r.stage === "implicit_reward")
      expect(same!.values["dpo/pairs"]).toBe(0)
      expect(same!.values["loss/dpo"]).toBeUndefined()
      expect(same!.step).toBe(0) // no update taken
      const differing = segments.filter((s, i) => half(i) && world.tokenizer.decode(Segment.expertAction(s)) !== "press 9").length
      expect(mixed!.values["dpo/pairs"]).toBe(differing)
      expect(mixed!.step).toBe(Math.ceil(config.steps * differing / segments.length)) // proportionally fewer updates
      // held out: the differing pairs the updates took, each before it was trained on (2 updates of 8 distinct pairs)
      expect(mixed!.values["reward/auc_pairs"]).toBe(Math.min(differing, mixed!.step * config.minibatchSize))
      expect(Number.isFinite(mixed!.values["reward/auc_reference"])).toBe(true)
    }))

  it.effect("a batch shorter than batchSize (an iteration's last) takes proportionally fewer updates: one pass over it", () =>
    Effect.gen(function*() {
      const { world } = yield* World.BehaviourWorld
      const { novice } = yield* World.Novice
      const segments = world.train.slice(0, 6).flatMap(Segment.all)
      const items = pressNine(world.tokenizer, segments)
      const differing = segments.filter((s) => world.tokenizer.decode(Segment.expertAction(s)) !== "press 9").length
      const records: Array<Metrics.MetricRecord> = []
      const config = { ...ImplicitReward.defaults, batchSize: 64, steps: 4, minibatchSize: 8 }
      yield* Effect.gen(function*() {
        yield* Models.ensureReward
        yield* Stream.runDrain(Stream.fromIterable(items).pipe(ImplicitReward.implicitReward(config, { seed: 1, iteration: 0 })))
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Models.copy(novice), records)))
      expect(segments.length).toBeLessThan(config.batchSize / 2)
      expect(differing).toBeGreaterThan(8)
      const [only] = records.filter((r) => r.stage === "implicit_reward")
      expect(only!.step).toBe(Math.ceil(config.steps * differing / config.batchSize)) // 4 updates of 8 would be 2-3 passes
    }))

  it.effect("an update's log-probs of its pairs are the model's before it (held out), the same as scoring them with those weights", () =>
    Effect.gen(function*() {
      const { world } = yield* World.BehaviourWorld
      const { novice } = yield* World.Novice
      const segments = world.train.slice(0, 8).flatMap(Segment.all)
      const items = pressNine(world.tokenizer, segments)
      const phi = Models.copy(novice)
      const ref = Models.copy(novice)
      const opt = Optimizer.make(Transformer.named(phi.weights), { learningRate: 1e-3 })
      const pairs = Preference.pairs(phi.config.contextLength, items)
      const refLogps = Preference.logps(ref, pairs, 8192)
      const settings = { beta: 0.1, maxTokens: 8192, nllCoef: 0, minPasses: 2 }
      const draws = [[0, 1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8, 9]] // the second overlaps the first: its first three were seen
      const before = Preference.logps(phi, Preference.select(pairs, draws[0]!), 8192)
      let at = 0
      const trained = yield* Preference.train(phi, opt, pairs, refLogps, settings, 2, () => draws[at++]!)
      const after = Preference.logps(phi, pairs, 8192) // after both updates
      expect(trained.ok).toBe(true)
      if (!trained.ok) return
      const first = trained.value[0]!
      first.rows.forEach((_, j) => {
        expect(Math.abs(first.logps.chosen[j]! - before.chosen[j]!)).toBeLessThan(1e-4)
        expect(Math.abs(first.logps.rejected[j]! - before.rejected[j]!)).toBeLessThan(1e-4)
      })
      const seen = Preference.firstSeen(pairs.n, trained.value)
      expect(Array.from(seen.chosen.subarray(0, 6))).toEqual(Array.from(first.logps.chosen)) // pairs 3-5: the first update's
      expect(seen.rejected[6]).toBe(trained.value[1]!.logps.rejected[3]) // pair 6: the second's, before it
      expect(Math.abs(seen.rejected[6]! - after.rejected[6]!)).toBeGreaterThan(1e-6) // ... not the weights after it
      expect(Number.isNaN(seen.chosen[10]!)).toBe(true) // a pair no update took has none
      Transformer.dispose(phi)
      Transformer.dispose(ref)
      Optimizer.dispose(opt)
    }))

  it.effect("each rewarded action carries the reference's per-token log-probs of it (what PPO's KL penalty takes), the reference's own scoring", () =>
    Effect.gen(function*() {
      const { world } = yield* World.BehaviourWorld
      const { novice } = yield* World.Novice
      const segments = world.train.slice(0, 6).flatMap(Segment.all)
      const items: Array<Sample.AgentAction> = segments.map((segment, i) => {
        const tokens = i % 2 === 0 ? Int32Array.from([...world.tokenizer.encode("press 9"), EOA]) : Segment.expertAction(segment)
        return { segment, sample: 0, tokens, logp: new Float32Array(tokens.length), values: new Float32Array(tokens.length), stopped: true, text: world.tokenizer.decode(tokens) }
      })
      const config = { ...ImplicitReward.defaults, batchSize: segments.length, minibatchSize: 8, learningRate: 1e-3 }
      const { out, expected } = yield* Effect.gen(function*() {
        yield* Models.ensureReward
        const ref = yield* (yield* Models.Models).get("reference")
        const s = Score.packed(ref, items.map((a) => ({ trajectory: a.segment.trajectory, step: a.segment.step, action: a.tokens })))
        const expected = items.map((a, i) => Array.from(s.logp.subarray(i * s.width, i * s.width + a.tokens.length)))
        const out = yield* Stream.runCollect(Stream.fromIterable(items).pipe(ImplicitReward.implicitReward(config, { seed: 1, iteration: 0 })))
        return { out: Array.from(out), expected }
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Models.copy(novice), [])))
      expect(out).toHaveLength(items.length)
      out.forEach((r, i) => {
        expect(r.refLogp).toBeDefined()
        expect(r.refLogp!.length).toBe(items[i]!.tokens.length)
        Array.from(r.refLogp!).forEach((x, j) => expect(Math.abs(x - expected[i]![j]!)).toBeLessThan(1e-5))
      })
    }))
})
