import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Fixtures from "./Fixtures.ts"

layer(Backend.layerTest)("Models", (it) => {
  it.effect("fails with MissingModel for an empty role, creates π_φ and π_ref from the policy, keeps or replaces optimizers", () =>
    Effect.gen(function*() {
      const models = yield* Models.Models
      const missing = yield* Effect.flip(models.get("reward"))
      expect(missing.reason).toBe("MissingModel")
      expect(missing.message).toContain("reward")
      yield* Models.ensureReward
      const policy = yield* models.get("policy")
      const reward = yield* models.get("reward")
      expect(reward).not.toBe(policy)
      expect(Fixtures.sameWeights(Fixtures.weights(reward), Fixtures.weights(policy))).toBe(true)
      expect(Transformer.named(reward.weights)[0]![1].trainable).toBe(true)
      expect(Transformer.named((yield* models.get("reference")).weights)[0]![1].trainable).toBe(false)
      const o1 = yield* models.optimizer("policy", { learningRate: 1e-3 })
      const o2 = yield* models.optimizer("policy", { learningRate: 1e-3 })
      const o3 = yield* models.optimizer("policy", { learningRate: 1e-4 })
      expect(o2).toBe(o1)
      expect(o3).not.toBe(o1)
      expect(o1.slots[0]!.m.isDisposed).toBe(true)
      const next = Models.copy(policy)
      yield* models.set("policy", { model: next })
      expect(Transformer.named(policy.weights)[0]![1].isDisposed).toBe(true)
      expect(yield* models.get("policy")).toBe(next)
      expect(Object.keys(yield* models.entries).sort()).toEqual(["policy", "reference", "reward"])
    }).pipe(Effect.provide(Models.layerTest({ seed: 1 }))))
})
