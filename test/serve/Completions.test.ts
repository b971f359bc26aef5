import * as tf from "@tensorflow/tfjs"
import { expect, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as Context from "../../src/model/Context.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import type * as ChatPrompt from "../../src/serve/ChatPrompt.ts"
import * as Completions from "../../src/serve/Completions.ts"
import * as Fixtures from "../model/Fixtures.ts"

const model = () => Transformer.init(Fixtures.tinyConfig(), 4)

/** The state before the last step of a synthetic trajectory, as ChatPrompt builds one. */
const prompt = (seed: number, contextLength: number): ChatPrompt.Prompt => {
  const trajectory = Fixtures.trajectory(seed, 2 + (seed % 3))
  const step = Tokenized.stepCount(trajectory) - 1
  return { trajectory, step, state: Context.state(trajectory, step, contextLength) }
}

const settings = (i: number): Completions.Settings =>
  i % 2 === 0
    ? { n: 1, temperature: 0, topK: 0, topP: 1, maxTokens: undefined, seed: undefined }
    : { n: 1 + (i % 3), temperature: 1, topK: 0, topP: 1, maxTokens: 10, seed: 100 + i }

layer(Backend.layerTest)("Completions", (it) => {
  it.effect("requests waiting together are sampled in one call per setting, and each gets what it gets alone", () =>
    Effect.gen(function*() {
      const m = model()
      const tensors = tf.memory().numTensors
      const prompts = Array.from({ length: 12 }, (_, i) => prompt(i, m.config.contextLength))
      const ids = (rows: ReadonlyArray<Completions.Sampled>) => rows.map((r) => Array.from(r.tokens))
      const { alone, aloneStats, together, togetherStats } = yield* Effect.gen(function*() {
        const c = yield* Completions.Completions
        const alone = yield* Effect.forEach(prompts, (p, i) => Effect.map(c.sample(p, settings(i)), ids))
        const aloneStats = yield* c.stats
        const together = yield* Effect.forEach(prompts, (p, i) => Effect.map(c.sample(p, settings(i)), ids), { concurrency: "unbounded" })
        return { alone, aloneStats, together, togetherStats: yield* c.stats }
      }).pipe(Effect.provide(Completions.layer(m)))
      expect(aloneStats).toEqual({ calls: 12, requests: 12, largest: 1 })
      // greedy requests share one call; the seeded ones differ in max tokens (10 vs the reserve), so they are another
      expect(togetherStats.calls - aloneStats.calls).toBe(2)
      expect(togetherStats.largest).toBe(6)
      expect(together).toEqual(alone)
      expect(alone.filter((_, i) => i % 2 === 1).map((rows) => rows.length)).toEqual([2, 1, 3, 2, 1, 3])
      // no completion runs past the room the context leaves for an action, as in evaluation
      const reserve = Context.actionReserve(m.config.contextLength)
      expect(Math.max(...alone.flat().map((r) => r.length))).toBeLessThanOrEqual(reserve)
      expect(tf.memory().numTensors).toBe(tensors) // every tensor of every call was disposed inside it
      Transformer.dispose(m)
    }), 60_000)

  it.effect("a request the model fails on gets a 500; the others in its call too, and the next call is served", () =>
    Effect.gen(function*() {
      const m = model()
      const good = prompt(1, m.config.contextLength)
      // a state that fills the whole context (Context.state never builds one): the sampler refuses it
      const full = Fixtures.trajectory(2, 40)
      const bad: ChatPrompt.Prompt = { trajectory: full, step: 39, state: { ...Context.state(full, 39, 1000), length: m.config.contextLength } }
      const [failed, after] = yield* Effect.gen(function*() {
        const c = yield* Completions.Completions
        const failed = yield* Effect.exit(c.sample(bad, settings(0)))
        const after = yield* c.sample(good, settings(0))
        return [failed, after] as const
      }).pipe(Effect.provide(Completions.layer(m)))
      expect(Exit.isFailure(failed)).toBe(true)
      if (Exit.isFailure(failed)) expect(JSON.stringify(failed.cause)).toMatch(/"status":500.*leaves no room/)
      expect(after).toHaveLength(1)
      Transformer.dispose(m)
    }), 60_000)
})
