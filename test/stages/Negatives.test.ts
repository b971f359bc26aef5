import { assert, describe, it } from "@effect/vitest"
import { fc, test } from "@fast-check/vitest"
import { Effect, Stream } from "effect"
import { EOA } from "../../src/data/Tokenizer.ts"
import type * as Tokenized from "../../src/domain/Tokenized.ts"
import type * as Metrics from "../../src/metrics/Metrics.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as ImplicitReward from "../../src/stages/ImplicitReward.ts"
import * as InverseReward from "../../src/stages/InverseReward.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Negatives from "../../src/stages/Negatives.ts"
import type * as Sample from "../../src/stages/Sample.ts"
import * as Segment from "../../src/stages/Segment.ts"
import * as Fixtures from "./Fixtures.ts"
import * as World from "./World.ts"

/** A tokenized trajectory of `actions` (each body then <|eoa|>), observations of `obs` tokens drawn from 100..199. */
const trajectory = (actions: ReadonlyArray<ReadonlyArray<number>>, obs: ReadonlyArray<ReadonlyArray<number>>): Tokenized.TokenizedTrajectory => {
  const tokens: Array<number> = [1] // <|bos|>
  const spans: Array<number> = []
  actions.forEach((a, i) => {
    const o0 = tokens.length
    tokens.push(2, ...obs[i]!, 3) // <|obs|> o_i <|act|>
    const a0 = tokens.length
    tokens.push(...a, EOA)
    spans.push(o0, a0, a0, tokens.length)
  })
  return { id: "t", env: "test", taskId: "train:0", reward: 1, success: true, tokens: Int32Array.from(tokens), spans: Int32Array.from(spans) }
}

const arbitraryTrajectory = fc.integer({ min: 1, max: 6 }).chain((steps) =>
  fc.record({
    actions: fc.array(fc.array(fc.integer({ min: 10, max: 99 }), { minLength: 1, maxLength: 6 }), { minLength: steps, maxLength: steps }),
    obs: fc.array(fc.array(fc.integer({ min: 100, max: 199 }), { minLength: 0, maxLength: 8 }), { minLength: steps, maxLength: steps })
  })
).map(({ actions, obs }) => trajectory(actions, obs))

describe("Negatives", () => {
  test.prop([arbitraryTrajectory, fc.integer(), fc.integer({ min: 0, max: 4 })])(
    "every draw ends with <|eoa|>, differs from the expert's action, is what its kind makes, and repeats from the seed",
    (t, seed, count) => {
      for (const s of Segment.all(t)) {
        const expert = Array.from(Segment.expertAction(s))
        const drawn = Negatives.draw(Rng.make(seed), s, count)
        assert.deepStrictEqual(drawn.map((d) => Array.from(d)), Negatives.draw(Rng.make(seed), s, count).map((d) => Array.from(d)))
        assert.isAtMost(drawn.length, count)
        const earlier = s.step === 0 ? undefined : Array.from(Segment.expertAction({ trajectory: t, step: s.step - 1 }))
        const later = Array.from({ length: t.spans.length / 4 - s.step - 1 }, (_, k) => Array.from(Segment.expertAction({ trajectory: t, step: s.step + 1 + k })))
        const observation = Array.from(t.tokens.subarray(t.spans[4 * s.step]! + 1, t.spans[4 * s.step + 1]! - 1))
        const inObservation = (x: ReadonlyArray<number>) => observation.some((_, i) => x.every((v, j) => observation[i + j] === v))
        /** d = expert[0, at) + X + expert[at + removed, end) with X 0-3 tokens of the observation, removing 0-3 tokens, not both 0. */
        const edited = (d: ReadonlyArray<number>) =>
          Array.from({ length: expert.length }, (_, at) => at).some((at) =>
            [0, 1, 2, 3].some((removed) => {
              const inserted = d.length - expert.length + removed
              if (at + removed > expert.length - 1 || inserted < 0 || inserted > Negatives.maxSpan || removed + inserted === 0) return false
              const x = d.slice(at, at + inserted)
              return d.slice(0, at).every((v, j) => v === expert[j]) &&
                d.slice(at + inserted).every((v, j) => v === expert[at + removed + j]) &&
                (inserted === 0 || inObservation(x)) && (removed === 0 || at + removed <= expert.length - 1)
            })
          )
        for (const d of drawn.map((x) => Array.from(x))) {
          assert.strictEqual(d[d.length - 1], EOA)
          assert.notDeepEqual(d, expert)
          assert.isAbove(d.length, 1) // something before <|eoa|>
          const repeated = earlier !== undefined && d.every((x, k) => x === earlier[k]) && d.length === earlier.length
          const early = later.some((l) => l.length === d.length && l.every((x, k) => x === d[k]))
          assert.isTrue(edited(d) || repeated || early, `${d} is no mistake of ${expert}`)
        }
      }
    }
  )

  it("a one-step trajectory with a one-token action and an empty observation has no mistake to make", () => {
    const t = trajectory([[42]], [[]])
    assert.deepStrictEqual(Negatives.draw(Rng.make(1), { trajectory: t, step: 0 }, 3), [])
  })

  it("requests: count mistakes per distinct state, in the batch's order, none for count 0", () => {
    const t = trajectory([[10, 11, 12], [13, 14], [15, 16, 17]], [[100, 101], [102], [103, 104]])
    const segments = Segment.all(t)
    const actions = segments.flatMap((segment) =>
      [0, 1].map((sample): Sample.AgentAction => ({ segment, sample, tokens: Segment.expertAction(segment), logp: new Float32Array(0), values: new Float32Array(0), stopped: true, text: "" }))
    )
    const r = Negatives.requests(Rng.make(5), actions, 2)
    assert.deepStrictEqual(r.map((q) => q.step), [0, 0, 1, 1, 2, 2]) // two k-samples of a state share its negatives
    assert.deepStrictEqual(Negatives.requests(Rng.make(5), actions, 0), [])
  })
})

it.layer(World.layerSignals({ train: 12, heldOut: 0 }))("reward models trained on synthetic negatives", (it) => {
  /** The agent wrote the expert's action at every state: no pair of its own carries a preference. */
  const copying = (segments: ReadonlyArray<Segment.Segment>) =>
    segments.map((segment): Sample.AgentAction => {
      const tokens = Segment.expertAction(segment)
      return { segment, sample: 0, tokens, logp: new Float32Array(tokens.length), values: new Float32Array(tokens.length), stopped: true, text: "" }
    })

  it.effect("implicit: π_φ moves on the synthetic pairs alone; the agent's rewards, auc and PPO's items are the agent's", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const policy = Transformer.init(world.config, 3)
      const items = copying(world.train.flatMap(Segment.all))
      const records: Array<Metrics.MetricRecord> = []
      const config = { ...ImplicitReward.defaults, batchSize: items.length, steps: 4, minibatchSize: 8, learningRate: 1e-3, negatives: 2 }
      const { before, after, out } = yield* Effect.gen(function*() {
        yield* Models.ensureReward
        const models = yield* Models.Models
        const before = Fixtures.weights(yield* models.get("reward"))
        const out = yield* Stream.runCollect(Stream.fromIterable(items).pipe(ImplicitReward.implicitReward(config, Fixtures.at)))
        return { before, after: Fixtures.weights(yield* models.get("reward")), out }
      }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, policy, records)))
      Transformer.dispose(policy)
      assert.isFalse(Fixtures.sameWeights(before, after))
      assert.strictEqual(out.length, items.length)
      const r = records.find((x) => x.stage === "implicit_reward")!
      assert.strictEqual(r.values["dpo/pairs"], 0)
      assert.isAbove(r.values["dpo/synthetic_pairs"]!, items.length) // about 2 a state
      assert.strictEqual(r.values["reward/auc_pairs"], 0) // synthetic pairs are never scored as the agent's
    }))

  it.effect("inverse: D trains on the synthetic negatives beside the agent's actions, more updates for more rows", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const policy = Transformer.init(world.config, 3)
      const items = copying(world.train.flatMap(Segment.all))
      const train = (negatives: number) =>
        Effect.gen(function*() {
          const records: Array<Metrics.MetricRecord> = []
          const config = { ...InverseReward.defaults, batchSize: items.length, steps: 2, warmupSteps: 0, minibatchSize: 8, negatives }
          const out = yield* Effect.gen(function*() {
            yield* Models.ensureDiscriminatorFromPolicy
            const out = yield* Stream.runCollect(Stream.fromIterable(items).pipe(InverseReward.inverseReward(config, Fixtures.at)))
            return out
          }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Models.copy(policy), records)))
          return { out, step: records.find((x) => x.stage === "inverse_reward")!.step }
        })
      const plain = yield* train(0)
      const synthetic = yield* train(2)
      Transformer.dispose(policy)
      assert.strictEqual(synthetic.out.length, items.length)
      assert.strictEqual(plain.step, 2)
      assert.isAbove(synthetic.step, 2 * plain.step) // (N + ~2N rows) / N passes
    }))
})
