import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as Optimizer from "../../src/model/Optimizer.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import type * as Metrics from "../../src/metrics/Metrics.ts"
import * as Evaluate from "../../src/stages/Evaluate.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Segment from "../../src/stages/Segment.ts"
import * as Sft from "../../src/stages/Sft.ts"
import { at } from "./Fixtures.ts"
import * as Fixtures from "./Fixtures.ts"
import { envLayer } from "./World.ts"
import * as World from "./World.ts"

/** The trajectory with the actions of `steps` flagged as no target (as a recovery's mistakes are). */
const flagged = (t: Tokenized.TokenizedTrajectory, steps: ReadonlyArray<number>): Tokenized.TokenizedTrajectory => ({
  ...t,
  actionLoss: Uint8Array.from({ length: Tokenized.stepCount(t) }, (_, i) => (steps.includes(i) ? 0 : 1))
})

/** The statistics of an SFT step that must have succeeded. */
const ok = <A>(r: { readonly ok: true; readonly value: A } | { readonly ok: false }): A => {
  if (!r.ok) throw new Error(`the SFT step failed: ${JSON.stringify(r)}`)
  return r.value
}

const actionTokens = (t: Tokenized.TokenizedTrajectory, steps: ReadonlyArray<number>): number =>
  steps.reduce((n, i) => n + Tokenized.actEnd(t, i) - Tokenized.actStart(t, i), 0)

// on a small world (8 training trajectories)
layer(World.layerSignals({ train: 8, heldOut: 1 }))("actions flagged as no target (turnLoss false, recoveries)", (it) => {
  it.effect("are no SFT targets: the action tokens count only the others, and a trajectory of flagged actions moves no weight", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const t = world.train.find((x) => Tokenized.stepCount(x) >= 3)!
      const n = Tokenized.stepCount(t)
      const policy = Transformer.init(world.config, 5)
      const opt = Optimizer.make(Transformer.named(policy.weights), { learningRate: 1e-2 })
      const mixed = ok(Sft.step(policy, opt, [flagged(t, [1])], 8192, 0.25))
      expect(mixed.actionTokens).toBe(actionTokens(t, Array.from({ length: n }, (_, i) => i).filter((i) => i !== 1)))
      expect(ok(Sft.step(policy, opt, [t], 8192, 0.25)).actionTokens).toBe(actionTokens(t, Array.from({ length: n }, (_, i) => i)))
      // actions only (no language-model loss): every action flagged leaves nothing to learn from
      const before = Fixtures.weights(policy)
      const none = ok(Sft.step(policy, opt, [flagged(t, Array.from({ length: n }, (_, i) => i))], 8192, 0))
      expect(none.actionTokens).toBe(0)
      expect(Fixtures.sameWeights(Fixtures.weights(policy), before)).toBe(true)
      // with one action a target, the weights move
      Sft.step(policy, opt, [flagged(t, Array.from({ length: n - 1 }, (_, i) => i))], 8192, 0)
      expect(Fixtures.sameWeights(Fixtures.weights(policy), before)).toBe(false)
    }))

  it.effect("observationLossFraction keeps a seeded share of the observation rows, every action row, and a mean over what it keeps", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const lmRows = (p: Sft.Plan) => p.passes.reduce((n, q) => n + q.isAction.filter((a) => a === 0).length, 0)
      const actionRows = (p: Sft.Plan) => p.passes.reduce((n, q) => n + q.isAction.filter((a) => a === 1).length, 0)
      const plan = (fraction: number | undefined, seed: number) =>
        Sft.plan(world.config, world.train, 8192, 0.25, 2, fraction === undefined ? undefined : { fraction, rng: Rng.make(seed) })
      const all = plan(undefined, 0)
      const half = plan(0.5, 7)
      expect(lmRows(plan(1, 7))).toBe(lmRows(all))
      expect(lmRows(half)).toBeGreaterThan(0.25 * lmRows(all))
      expect(lmRows(half)).toBeLessThan(0.75 * lmRows(all))
      expect(actionRows(half)).toBe(actionRows(all))
      expect(half.actionTokens).toBe(all.actionTokens)
      // the same stream draws the same rows; another draws others
      const rowsOf = (p: Sft.Plan) => p.passes.map((q) => Array.from(q.batch.index)).join("|")
      expect(rowsOf(plan(0.5, 7))).toBe(rowsOf(half))
      expect(rowsOf(plan(0.5, 8))).not.toBe(rowsOf(half))
      // the kept observation rows' weights still sum to the loss weight: a mean over the kept tokens
      const lmWeight = (p: Sft.Plan) =>
        p.passes.reduce((w, q) => {
          let t = 0
          for (let r = 0; r < q.batch.rows; r++) {
            if (q.isAction[r] === 1) continue
            let tokens = 0
            for (let j = 0; j < q.batch.width; j++) tokens += q.batch.mask[r * q.batch.width + j]!
            t += q.rowScale[r]! * tokens
          }
          return w + t / p.passes.length
        }, 0)
      expect(lmWeight(half)).toBeCloseTo(0.25, 5)
      expect(lmWeight(all)).toBeCloseTo(0.25, 5)
    }))

  it.effect("are no expert states for StepAgent and step DPO: segmentation skips them", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const t = world.train.find((x) => Tokenized.stepCount(x) >= 3)!
      const segs = yield* Stream.runCollect(Segment.segment(Stream.fromIterable([flagged(t, [0, 2])])))
      expect(Array.from(segs, (s) => s.step)).toEqual(Array.from({ length: Tokenized.stepCount(t) }, (_, i) => i).filter((i) => i !== 0 && i !== 2))
    }))
})

// on the behaviour world: the shared "novice" (World.novice) is the policy after these 150 SFT steps
layer(World.layerNovice)("SFT", (it) => {
  it.effect("logs loss/sft falling and token accuracy rising", () =>
    Effect.gen(function*() {
      const { sftRecords } = yield* World.Novice
      const first = sftRecords[0]!.values
      const last = sftRecords[sftRecords.length - 1]!.values
      expect(sftRecords.length).toBe(150)
      expect(last["loss/sft"]!).toBeLessThan(first["loss/sft"]! - 2)
      expect(last["sft/token_accuracy"]!).toBeGreaterThan(first["sft/token_accuracy"]!)
    }))

  it.effect("beats a random policy: held-out likelihood of the expert's actions, and reward on held-out tasks", () =>
    Effect.gen(function*() {
      const { world, heldOut } = yield* World.BehaviourWorld
      const { novice } = yield* World.Novice
      const untrained = Transformer.init(world.config, 1)
      expect(Fixtures.expertLogLikelihood(novice, heldOut)).toBeGreaterThan(Fixtures.expertLogLikelihood(untrained, heldOut) + 5)
      Transformer.dispose(untrained)
      const evaluate = (policy: Evaluate.Policy) =>
        Stream.runCollect(Evaluate.tasks("test", 16).pipe(Evaluate.evaluate({ ...Evaluate.defaults, policy, maxTokens: 8 }, { seed: 1, iteration: 0 }))).pipe(
          Effect.provide(Layer.merge(Fixtures.layer(world.tokenizer, Models.copy(novice)), envLayer))
        )
      const model = Evaluate.summary(yield* evaluate("model"))
      const random = Evaluate.summary(yield* evaluate("random"))
      expect(model.episodes).toBe(16)
      expect(model.avgReward).toBeGreaterThan(random.avgReward + 0.15)
    }))
})

// on the wiring world (24 training trajectories)
layer(World.layerSignals({ train: 24, heldOut: 4 }))("bad input", (it) => {
  it.effect("a diverging SFT stops at the first non-finite loss and keeps the weights of the last good step", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const policy = World.fresh(world)
      const records: Array<Metrics.MetricRecord> = []
      const { after, failure } = yield* Effect.gen(function*() {
        const failure = yield* Effect.flip(Stream.runCollect(Sft.sft({ ...Sft.defaults, batchSize: 4, learningRate: 1e30, maxGradNorm: 0 }, at)(Stream.fromIterable([...world.train, ...world.train]))).pipe(Effect.catchTag("MetricsError", Effect.die)))
        return { failure, after: Fixtures.weights(yield* (yield* Models.Models).get("policy")) }
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, policy, records)))
      expect(failure.reason).toBe("NonFinite")
      expect(failure.stage).toBe("sft")
      expect(failure.metric === "loss/sft" || failure.metric === "grad/norm").toBe(true)
      const good = records.filter((r) => r.stage === "sft")
      expect(failure.step).toBe(good.length + 1)
      expect(after.every((w) => w.every(Number.isFinite))).toBe(true)
    }))
})
