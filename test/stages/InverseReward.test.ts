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
import * as Segment from "../../src/stages/Segment.ts"
import * as Fixtures from "./Fixtures.ts"
import * as World from "./World.ts"

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
})
