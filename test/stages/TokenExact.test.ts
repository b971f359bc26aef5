import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Stream } from "effect"
import * as Render from "../../src/data/Render.ts"
import { BYTE_OFFSET, EOA } from "../../src/data/Tokenizer.ts"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as Metrics from "../../src/metrics/Metrics.ts"
import * as Discriminator from "../../src/model/Discriminator.ts"
import * as Packed from "../../src/model/Packed.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as ImplicitReward from "../../src/stages/ImplicitReward.ts"
import * as InverseReward from "../../src/stages/InverseReward.ts"
import * as Models from "../../src/stages/Models.ts"
import * as OutcomePpo from "../../src/stages/OutcomePpo.ts"
import * as Ppo from "../../src/stages/Ppo.ts"
import * as Preference from "../../src/stages/Preference.ts"
import * as Rollout from "../../src/stages/Rollout.ts"
import * as Sample from "../../src/stages/Sample.ts"
import * as Segment from "../../src/stages/Segment.ts"
import * as World from "./World.ts"

/**
 * Token-exact by construction: the ids the policy sampled at a state are the ids the reward model, the discriminator
 * and PPO score and train on, never the sampled text encoded again (the most reported multi-turn bug of RL agent
 * stacks: the trained tokens are a re-tokenisation of the decoded sample, so the ratios, the KL and the rewards are of
 * other tokens than the ones sampled). Shown black-box, from what the stages emit and log: every number they report
 * is recomputed from the sampled ids and matches, and recomputed from the re-encoded text and does not. An untrained
 * policy at temperature 1 writes byte-level ids (a byte of a merge, half a UTF-8 character) that its decoded text does
 * not encode back to, so the two differ on most actions here.
 */

/**
 * The block's shared set-up: the signals world (8 training trajectories, World.layerSignals, which starts the test
 * backend), an untrained policy and another model as reference, and the actions the policy sampled at every training
 * state (temperature 1, 8 tokens at most).
 */
class Sampled extends Context.Service<Sampled, {
  readonly world: World.World
  readonly policy: Transformer.Model
  readonly reference: Transformer.Model
  readonly actions: ReadonlyArray<Sample.AgentAction>
  /** The text of an action encoded again, as a stack that re-tokenises would train on (<|eoa|> when it stopped). */
  readonly reencoded: (a: Sample.AgentAction) => Int32Array
}>()("test/stages/TokenExact/Sampled") {}

const layerSampled = Layer.effect(
  Sampled,
  Effect.gen(function*() {
    const world = yield* World.SignalsWorld
    const policy = Transformer.init(world.config, 3)
    const reference = Transformer.freeze(Transformer.init(world.config, 8)) // another model: the KL is not 0
    const segments = world.train.flatMap(Segment.all)
    const actions = yield* Stream.runCollect(Stream.fromIterable(segments).pipe(Sample.sample({ ...Sample.defaults, maxTokens: 8 }, { seed: 5, iteration: 0 }))).pipe(
      Effect.map((c) => Array.from(c)),
      Effect.provide(Layer.mergeAll(Models.layer({ tokenizer: world.tokenizer, models: { policy: { model: Models.copy(policy) } } }), Metrics.layerNone))
    )
    const reencoded = (a: Sample.AgentAction) => {
      const text = Render.encodeActionTurn(world.tokenizer, a.text) // text <|eoa|>
      return a.stopped ? text : text.subarray(0, text.length - 1)
    }
    return { world, policy, reference, actions, reencoded }
  })
).pipe(Layer.provideMerge(World.layerSignals({ train: 8, heldOut: 0 })))

const sum = (x: Float32Array, from: number, to: number): number => {
  let s = 0
  for (let i = from; i < to; i++) s += x[i]!
  return s
}

layer(layerSampled, { timeout: "60 seconds" })("token-exact training on sampled actions", (it) => {
  const request = (a: Sample.AgentAction, tokens: Int32Array = a.tokens): Packed.Request => ({ trajectory: a.segment.trajectory, step: a.segment.step, action: tokens })
  const same = (x: Int32Array, y: Int32Array) => x.length === y.length && x.every((v, i) => v === y[i])

  it.effect("the hazard is there: most sampled actions do not survive decode -> encode", () =>
    Effect.gen(function*() {
      const { world, actions, reencoded } = yield* Sampled
      const differ = actions.filter((a) => !same(a.tokens, reencoded(a))).length
      expect(actions.length).toBeGreaterThan(20)
      expect(differ).toBeGreaterThan(actions.length / 4)
      // the simplest case: a word the policy wrote byte by byte comes back as the tokenizer's merge of it
      const bytes = Int32Array.from(new TextEncoder().encode("press"), (b) => b + BYTE_OFFSET)
      expect(world.tokenizer.decode(bytes)).toBe("press")
      expect(Array.from(world.tokenizer.encode("press"))).not.toEqual(Array.from(bytes))
    }))

  it.effect("scoring the sampled ids at the expert state gives back the sampler's own log-probs (the state and the ids are the sampled ones)", () =>
    Effect.gen(function*() {
      const { policy, actions } = yield* Sampled
      const s = Score.packed(policy, actions.map((a) => request(a)))
      actions.forEach((a, r) => {
        for (let j = 0; j < a.tokens.length; j++) expect(Math.abs(s.logp[r * s.width + j]! - a.logp[j]!)).toBeLessThan(1e-4)
        expect(s.mask.subarray(r * s.width, (r + 1) * s.width).reduce((n, m) => n + m, 0)).toBe(a.tokens.length)
      })
    }))

  it.effect("the implicit reward model trains on and rewards the sampled ids; PPO's KL and ratios are of the sampled ids", () =>
    Effect.gen(function*() {
      const { world, policy, reference, actions, reencoded } = yield* Sampled
      const records: Array<Metrics.MetricRecord> = []
      const n = actions.length
      const models = Models.layer({ tokenizer: world.tokenizer, models: { policy: { model: Models.copy(policy) }, reference: { model: reference } } })
      const { rewarded, rewardModel, ppoPolicyBefore } = yield* Effect.gen(function*() {
        yield* Models.ensureReward
        const rewarded = Array.from(yield* Stream.runCollect(Stream.fromIterable(actions).pipe(ImplicitReward.implicitReward({ ...ImplicitReward.defaults, batchSize: n, steps: 2 }, { seed: 5, iteration: 0 }))))
        const m = yield* Models.Models
        const rewardModel = Models.copy(yield* m.get("reward"))
        const ppoPolicyBefore = Models.copy(yield* m.get("policy"))
        yield* Stream.runDrain(Stream.fromIterable(rewarded).pipe(Ppo.ppo({ ...Ppo.defaults, batchSize: n, minibatchSize: n, epochs: 1 }, { seed: 5, iteration: 0 })))
        return { rewarded, rewardModel, ppoPolicyBefore }
      }).pipe(Effect.provide(Layer.mergeAll(models, Metrics.layerMemory(records))))

      // the actions come out of the reward stage with the very buffers the sampler filled, into PPO's episodes
      rewarded.forEach((r, i) => expect(r.tokens).toBe(actions[i]!.tokens))

      // the reward stage's rewards are β (log π_φ - log π_ref) of the sampled ids, after its DPO updates on them
      const beta = ImplicitReward.defaults.beta
      const rewardsOf = (tokens: (a: Sample.AgentAction) => Int32Array) => {
        const pairs = Preference.pairs(world.config.contextLength, actions.map((a) => ({ ...a, tokens: tokens(a) })))
        return Preference.rewards(rewardModel, pairs, Preference.logps(reference, pairs, 8192), beta, 8192).rejected
      }
      const exact = rewardsOf((a) => a.tokens)
      const retokenized = rewardsOf(reencoded)
      rewarded.forEach((r, i) => expect(Math.abs(r.reward - exact[i]!)).toBeLessThan(1e-5))
      const off = rewarded.filter((r, i) => Math.abs(r.reward - retokenized[i]!) > 1e-3).length
      expect(off).toBeGreaterThan(n / 4)

      // PPO's objective/kl: the batch mean of Σ_t (log π_old - log π_ref) over the sampled ids, π_old the policy as PPO found it
      const klOf = (tokens: (a: Sample.AgentAction) => Int32Array) => {
        const requests = actions.map((a) => request(a, tokens(a)))
        const old = Score.packed(ppoPolicyBefore, requests)
        const ref = Score.packed(reference, requests)
        let total = 0
        for (let r = 0; r < n; r++) total += sum(old.logp, r * old.width, (r + 1) * old.width) - sum(ref.logp, r * ref.width, (r + 1) * ref.width)
        return total / n
      }
      const logged = records.find((r) => r.stage === "ppo")!.values["objective/kl"]!
      expect(Math.abs(logged - klOf((a) => a.tokens))).toBeLessThan(1e-4 * Math.max(1, Math.abs(logged)))
      expect(Math.abs(logged - klOf(reencoded))).toBeGreaterThan(1e-2)
      for (const m of [rewardModel, ppoPolicyBefore]) Transformer.dispose(m)
    }), 120_000)

  it.effect("the discriminator (inverse variant) trains on and rewards the sampled ids", () =>
    Effect.gen(function*() {
      const { world, policy, actions, reencoded } = yield* Sampled
      const n = actions.length
      const models = Models.layer({ tokenizer: world.tokenizer, models: { policy: { model: Models.copy(policy) } } })
      const { rewarded, disc } = yield* Effect.gen(function*() {
        yield* Models.ensureDiscriminatorFromPolicy
        const rewarded = Array.from(yield* Stream.runCollect(Stream.fromIterable(actions).pipe(InverseReward.inverseReward({ ...InverseReward.defaults, batchSize: n, steps: 2, warmupSteps: 0 }, { seed: 5, iteration: 0 }))))
        return { rewarded, disc: Models.copy(yield* (yield* Models.Models).get("discriminator")) }
      }).pipe(Effect.provide(Layer.mergeAll(models, Metrics.layerNone)))
      rewarded.forEach((r, i) => expect(r.tokens).toBe(actions[i]!.tokens))
      // -log D(s, a), scored as the stage scores its pairs (expert requests first, then the agents', in one packing)
      const rewardsOf = (tokens: (a: Sample.AgentAction) => Int32Array): Float32Array => {
        const requests = [...actions.map((a) => ({ trajectory: a.segment.trajectory, step: a.segment.step })), ...actions.map((a) => request(a, tokens(a)))]
        const out = new Float32Array(requests.length)
        for (const pass of Packed.passes(Packed.pack(disc.config.contextLength, requests), InverseReward.defaults.maxTokens)) {
          const r = Discriminator.rewards(disc, pass.batch)
          pass.requests.forEach((q, j) => out[q] = r[j]!)
        }
        return out.slice(n)
      }
      const exact = rewardsOf((a) => a.tokens)
      const retokenized = rewardsOf(reencoded)
      rewarded.forEach((r, i) => expect(Math.abs(r.reward - exact[i]!)).toBeLessThan(1e-5))
      expect(rewarded.filter((r, i) => Math.abs(r.reward - retokenized[i]!) > 1e-4).length).toBeGreaterThan(0)
      Transformer.dispose(disc)
    }), 120_000)

  it.effect("outcome PPO trains on the rollout's sampled ids, which are also the history of every later state", () =>
    Effect.gen(function*() {
      const { world, policy } = yield* Sampled
      const env = World.envLayer
      const episodes = yield* Rollout.run({ kind: "model", model: policy, tokenizer: world.tokenizer, maxTokens: 8, temperature: 1 }, ["test:0", "test:1", "test:2"], Rng.make(9), null).pipe(
        Effect.provide(env)
      )
      let differ = 0
      for (const e of episodes) {
        const t = e.tokenized!
        const steps = OutcomePpo.episodes(e)
        expect(steps).toHaveLength(e.steps)
        steps.forEach((s, i) => {
          // PPO's episode at step i: the rollout's buffer, its action the ids between the spans (views, no copy)
          expect(s.segment.trajectory).toBe(t)
          expect(s.tokens.buffer).toBe(t.tokens.buffer)
          expect(world.tokenizer.decode(s.tokens)).toBe(e.trajectory.steps[i]!.raw ?? e.trajectory.steps[i]!.action)
          const text = Render.encodeActionTurn(world.tokenizer, world.tokenizer.decode(s.tokens))
          if (!same(s.tokens, s.tokens[s.tokens.length - 1] === EOA ? text : text.subarray(0, text.length - 1))) differ++
          // the next state holds these ids as its history
          if (i + 1 < Tokenized.stepCount(t)) expect(Tokenized.obsStart(t, i + 1)).toBe(Tokenized.actEnd(t, i))
        })
      }
      expect(differ).toBeGreaterThan(0)
    }), 60_000)
})
