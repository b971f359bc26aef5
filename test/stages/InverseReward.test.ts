import { expect, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Discriminator from "../../src/model/Discriminator.ts"
import * as ActionBatch from "../../src/model/ActionBatch.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import type * as Metrics from "../../src/metrics/Metrics.ts"
import * as InverseReward from "../../src/stages/InverseReward.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Sample from "../../src/stages/Sample.ts"
import * as RewardAuc from "../../src/stages/RewardAuc.ts"
import * as Scoring from "../../src/stages/Scoring.ts"
import * as Segment from "../../src/stages/Segment.ts"
import { EOA } from "../../src/data/Tokenizer.ts"
import * as Fixtures from "./Fixtures.ts"
import * as World from "./World.ts"

/** An agent action written by hand at `segment` (`text` decoded with `tokenizer`). */
const action = (segment: Segment.Segment, tokens: Int32Array, tokenizer: { readonly decode: (t: Int32Array) => string }): Sample.AgentAction =>
  ({ segment, sample: 0, tokens, logp: new Float32Array(tokens.length), values: new Float32Array(tokens.length), stopped: true, text: tokenizer.decode(tokens) })

/** On the behaviour world (World.behaviour: the signals environment, tiny model, seeded). */
layer(World.layerBehaviour)("inverse reward", (it) => {
  it.effect("the discriminator's accuracy rises above chance on expert vs untrained-policy pairs, on held-out states too", () =>
    Effect.gen(function*() {
      const { world, heldOut } = yield* World.BehaviourWorld
      const records: Array<Metrics.MetricRecord> = []
      const held = yield* Effect.gen(function*() {
        yield* Models.ensureDiscriminator(11, { dModel: 32, layers: 1 })
        yield* Stream.runDrain(Stream.fromIterable(world.train.slice(0, 48)).pipe(
          Segment.segment,
          Sample.sample({ ...Sample.defaults, maxTokens: 8 }, { seed: 1, iteration: 0 }),
          InverseReward.inverseReward({ ...InverseReward.defaults, batchSize: 32, minibatchSize: 32, steps: 3, learningRate: 1e-3 }, { seed: 1, iteration: 0 })
        ))
        // held-out pairs: the expert's action and the untrained policy's own, at held-out states
        const d = yield* (yield* Models.Models).get("discriminator")
        const agent = yield* Stream.runCollect(Stream.fromIterable(heldOut).pipe(Sample.sample({ ...Sample.defaults, maxTokens: 8 }, { seed: 2, iteration: 0 })))
        const seq = (s: Segment.Segment, action?: Int32Array) =>
          Score.segmentSequence(d.config.contextLength, action === undefined ? s : { ...s, action }).sequence
        const pAgent = Discriminator.probabilities(d, ActionBatch.build(agent.map((a) => seq(a.segment, a.tokens))))
        const pExpert = Discriminator.probabilities(d, ActionBatch.build(heldOut.map((s) => seq(s))))
        return ([...pAgent].filter((p) => p > 0.5).length + [...pExpert].filter((p) => p < 0.5).length) / (pAgent.length + pExpert.length)
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Transformer.init(world.config, 4), records)))
      const disc = records.filter((r) => r.stage === "inverse_reward")
      expect(disc.length).toBeGreaterThan(3)
      expect(disc[disc.length - 1]!.values["disc/accuracy"]!).toBeGreaterThan(0.85) // chance: 0.5
      expect(disc[disc.length - 1]!.values["loss/disc"]!).toBeLessThan(disc[0]!.values["loss/disc"]!)
      expect(disc[disc.length - 1]!.values["disc/agent_prob"]!).toBeGreaterThan(disc[disc.length - 1]!.values["disc/expert_prob"]!)
      expect(held).toBeGreaterThan(0.8)
    }))

  it.effect("reward/auc: D's held-out scores of the differing pairs only, before it trains on them, every one counted", () =>
    Effect.gen(function*() {
      const { world } = yield* World.BehaviourWorld
      const segments = world.train.slice(0, 10).flatMap(Segment.all)
      // the agent wrote the expert's action at every other state, "press 9" at the others
      const items = segments.map((segment, i) =>
        action(segment, i % 2 === 0 ? Int32Array.from([...world.tokenizer.encode("press 9"), EOA]) : Segment.expertAction(segment), world.tokenizer)
      )
      const differing = items.flatMap((a, i) => RewardAuc.differs(a) ? [i] : [])
      const records: Array<Metrics.MetricRecord> = []
      const config = { ...InverseReward.defaults, batchSize: items.length, minibatchSize: 8, steps: 2, warmupSteps: 0, learningRate: 1e-3 }
      const expected = yield* Effect.gen(function*() {
        yield* Models.ensureDiscriminator(11, { dModel: 32, layers: 1 })
        const d = yield* (yield* Models.Models).get("discriminator")
        // the same requests the stage scores held out, with D's weights before the batch
        const requests = [
          ...differing.map((i) => ({ trajectory: items[i]!.segment.trajectory, step: items[i]!.segment.step })),
          ...differing.map((i) => ({ trajectory: items[i]!.segment.trajectory, step: items[i]!.segment.step, action: items[i]!.tokens }))
        ]
        const r = Scoring.compute(d, "discriminator", requests, config.maxTokens)
        const k = differing.length
        yield* Stream.runDrain(Stream.fromIterable(items).pipe(InverseReward.inverseReward(config, { seed: 1, iteration: 0 })))
        return RewardAuc.auc(r.subarray(0, k), r.subarray(k), differing.map(() => true))
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Transformer.init(world.config, 4), records)))
      const [record] = records.filter((r) => r.stage === "inverse_reward")
      expect(differing.length).toBeGreaterThan(10)
      expect(differing.length).toBeLessThan(items.length)
      expect(record!.values["reward/auc_pairs"]).toBe(differing.length)
      expect(record!.values["reward/auc"]).toBe(expected.auc)
    }))

  it.effect("trainOn \"differing\": D trains on the differing pairs only, with proportionally fewer updates, and learns them", () =>
    Effect.gen(function*() {
      const { world } = yield* World.BehaviourWorld
      const segments = world.train.slice(0, 24).flatMap(Segment.all)
      // the agent writes "press 9" at every third state, the expert's action at the others
      const items = segments.map((segment, i) =>
        action(segment, i % 3 === 0 ? Int32Array.from([...world.tokenizer.encode("press 9"), EOA]) : Segment.expertAction(segment), world.tokenizer)
      )
      const batch = 24
      const run = (trainOn: "all" | "differing", minibatchSize: number) => {
        const records: Array<Metrics.MetricRecord> = []
        const config = { ...InverseReward.defaults, batchSize: batch, minibatchSize, steps: 6, warmupSteps: 0, learningRate: 3e-3, trainOn }
        return Effect.gen(function*() {
          yield* Models.ensureDiscriminator(11, { dModel: 32, layers: 1 })
          yield* Stream.runDrain(Stream.fromIterable(items).pipe(InverseReward.inverseReward(config, { seed: 1, iteration: 0 })))
          return records.filter((r) => r.stage === "inverse_reward")
        }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Transformer.init(world.config, 4), records)))
      }
      const all = yield* run("all", 8)
      // a third of each batch differs: 6 * 8 / 24 = 2 updates a batch instead of 6 (the record's step counts them)
      const differing = yield* run("differing", 8)
      const perBatch = (rs: ReadonlyArray<Metrics.MetricRecord>) => rs.map((r, i) => r.step - (i === 0 ? 0 : rs[i - 1]!.step))
      expect(perBatch(all).slice(0, 3)).toEqual([6, 6, 6])
      expect(perBatch(differing).slice(0, 3)).toEqual([2, 2, 2])
      // minibatches larger than the differing pairs of a batch (8): every differing pair in each, labelled right
      const wide = yield* run("differing", 32)
      const last = wide[wide.length - 1]!.values
      expect(last["disc/agent_prob"]!).toBeGreaterThan(last["disc/expert_prob"]! + 0.1)
      expect(last["disc/accuracy"]!).toBeGreaterThan(0.8)
    }))

  it.effect("trainOn \"differing\" with no differing action: no update, the batch still rewarded", () =>
    Effect.gen(function*() {
      const { world } = yield* World.BehaviourWorld
      const segments = world.train.slice(0, 6).flatMap(Segment.all)
      const items = segments.map((segment) => action(segment, Segment.expertAction(segment), world.tokenizer))
      const records: Array<Metrics.MetricRecord> = []
      const config = { ...InverseReward.defaults, batchSize: items.length, trainOn: "differing" as const }
      const rewarded = yield* Effect.gen(function*() {
        yield* Models.ensureDiscriminator(11, { dModel: 32, layers: 1 })
        return yield* Stream.runCollect(Stream.fromIterable(items).pipe(InverseReward.inverseReward(config, { seed: 1, iteration: 0 })))
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Transformer.init(world.config, 4), records)))
      const [record] = records.filter((r) => r.stage === "inverse_reward")
      expect(rewarded.length).toBe(items.length)
      expect(record!.step).toBe(0)
      expect(record!.values["loss/disc"]).toBeUndefined()
      expect(Number.isFinite(record!.values["reward/step_mean"]!)).toBe(true)
    }))
})
