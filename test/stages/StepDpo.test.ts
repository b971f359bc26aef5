import { expect, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Transformer from "../../src/model/Transformer.ts"
import type * as Metrics from "../../src/metrics/Metrics.ts"
import * as Models from "../../src/stages/Models.ts"
import * as StepDpo from "../../src/stages/StepDpo.ts"
import * as Fixtures from "./Fixtures.ts"
import * as World from "./World.ts"

layer(World.layerSignals({ train: 24, heldOut: 4 }))("step DPO", (it) => {
  it.effect("applies the step-level DPO loss to the policy directly: the policy moves, the reference does not", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const records: Array<Metrics.MetricRecord> = []
      const policy = Transformer.init(world.config, 6)
      const before = Fixtures.weights(policy)
      const { after, reference } = yield* Effect.gen(function*() {
        yield* Stream.runDrain(Stream.fromIterable(world.train).pipe(
          StepDpo.stepDpo({ ...StepDpo.defaults, batchSize: 32, steps: 2, learningRate: 1e-3, sample: { ...StepDpo.defaults.sample, maxTokens: 8 } }, { seed: 1, iteration: 0 })
        ))
        const models = yield* Models.Models
        return { after: Fixtures.weights(yield* models.get("policy")), reference: Fixtures.weights(yield* models.get("reference")) }
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, policy, records)))
      const dpo = records.filter((r) => r.stage === "step_dpo")
      expect(dpo.length).toBeGreaterThan(2)
      expect(dpo.every((r) => Number.isFinite(r.values["loss/dpo"]) && r.values["dpo/accuracy"]! >= 0 && r.values["dpo/accuracy"]! <= 1)).toBe(true)
      expect(dpo[dpo.length - 1]!.values["dpo/margin"]!).toBeGreaterThan(dpo[0]!.values["dpo/margin"]!)
      expect(Fixtures.sameWeights(after, before)).toBe(false)
      expect(Fixtures.sameWeights(reference, before)).toBe(true)
      expect(new Set(records.map((r) => r.stage))).toEqual(new Set(["sample", "step_dpo"]))
    }))
})
