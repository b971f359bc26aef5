import { fc, test } from "@fast-check/vitest"
import * as tf from "@tensorflow/tfjs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as Context from "../../src/model/Context.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Sample from "../../src/model/Sample.ts"
import * as StateCache from "../../src/model/StateCache.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Fixtures from "./Fixtures.ts"

beforeAll(async () => {
  await Fixtures.cpu()
})

const rowsOf = (s: Sample.Samples): Array<Array<number>> =>
  Array.from({ length: s.rows }, (_, r) => Array.from(s.tokens.subarray(r * s.width, r * s.width + s.lengths[r]!)))

/**
 * Episodes' turns as `Rollout` makes them: each call samples at every trajectory's state of step s (the trajectories
 * still running), the caches carried from the last call; against `Sample.sample` of the same states with the same
 * draws. Returns the tokens each call ran.
 */
const turns = (m: Transformer.Model, trajs: ReadonlyArray<Tokenized.TokenizedTrajectory>, options: Sample.Options, seed: number): Array<number> => {
  const ctx = m.config.contextLength
  const caches = new Map<number, StateCache.Entry>()
  const computed: Array<number> = []
  const steps = Math.max(...trajs.map(Tokenized.stepCount))
  for (let s = 0; s < steps; s++) {
    const live = trajs.map((t, i) => [t, i] as const).filter(([t]) => Tokenized.stepCount(t) > s)
    const states = live.map(([t]) => Context.state(t, s, ctx))
    const expected = Sample.sample(m, states.map((st) => st.parts), states.map((st, i) => ({ prefix: i, length: st.length })), Rng.make(seed + s), options)
    const got = StateCache.sample(m, states.map((st, i) => ({ state: Context.flatten(st.parts), cache: caches.get(live[i]![1]) })), Rng.make(seed + s), options)
    expect(rowsOf(got.samples)).toEqual(rowsOf(expected))
    expect(Array.from(got.samples.stopped)).toEqual(Array.from(expected.stopped))
    for (let j = 0; j < expected.logp.length; j++) {
      expect(Math.abs(got.samples.logp[j]! - expected.logp[j]!)).toBeLessThan(1e-4)
      expect(Math.abs(got.samples.values[j]! - expected.values[j]!)).toBeLessThan(1e-4)
    }
    // every cache covers its row's state, and only the tokens past what the last state shared ran
    let news = 0
    states.forEach((st, i) => {
      const tokens = Context.flatten(st.parts)
      const before = caches.get(live[i]![1])
      let shared = 0
      while (before !== undefined && shared < Math.min(before.tokens.length, tokens.length) && before.tokens[shared] === tokens[shared]) shared++
      news += tokens.length - Math.min(shared, tokens.length - 1)
      const e = got.caches[i]!
      expect(Array.from(e.tokens)).toEqual(Array.from(tokens))
      expect(e.keys.map((k) => k.length)).toEqual(e.keys.map(() => m.config.contextLength * m.config.dModel))
      caches.set(live[i]![1], e)
    })
    expect(got.computed).toBe(news)
    computed.push(got.computed)
  }
  return computed
}

describe("StateCache", () => {
  let m: Transformer.Model
  let copy: Transformer.Model
  beforeAll(() => {
    m = Transformer.init(Fixtures.tinyConfig(), 9)
    copy = Transformer.init(Fixtures.tinyConfig({ copyHead: true, copyMatch: true }), 4)
  })
  afterAll(() => {
    Transformer.dispose(m)
    Transformer.dispose(copy)
  })

  it("samples an episode's turns as sampling the whole states does, running only the new tokens (states within the context)", () => {
    const trajs = [Fixtures.trajectory(1, 5), Fixtures.trajectory(2, 3), Fixtures.trajectory(3, 4)]
    for (const t of trajs) expect(Context.state(t, Tokenized.stepCount(t) - 1, m.config.contextLength).truncatedTurns).toBe(0)
    const computed = turns(m, trajs, { maxTokens: 6, temperature: 1 }, 11)
    const whole = trajs.reduce((a, t) => a + Context.state(t, 0, m.config.contextLength).length, 0)
    expect(computed[0]).toBe(whole) // nothing cached yet
    expect(computed[1]!).toBeLessThan(Context.lengthOf(trajs.map((t) => Context.state(t, 1, m.config.contextLength).parts).flat()) / 2)
  })

  it("the same where the context drops turns (a drop shares only the head), greedy and with top-k, with the copy head too", () => {
    // 96-token context, 24 reserved: long trajectories drop turns in blocks, so some calls reuse little
    const trajs = [Fixtures.trajectory(4, 14, { observation: 6 }), Fixtures.trajectory(5, 11), Fixtures.trajectory(6, 9, { instruction: 20 })]
    expect(Context.state(trajs[0]!, 13, m.config.contextLength).truncatedTurns).toBeGreaterThan(0)
    for (const [model, options] of [[m, { maxTokens: 5, temperature: 0 }], [m, { maxTokens: 5, temperature: 0.8, topK: 20 }], [copy, { maxTokens: 5, temperature: 1 }]] as const) {
      const computed = turns(model, trajs, options, 3)
      const held = trajs.flatMap((t) => Array.from({ length: Tokenized.stepCount(t) }, (_, s) => Context.state(t, s, model.config.contextLength).length))
      expect(computed.reduce((a, x) => a + x, 0)).toBeLessThan(held.reduce((a, x) => a + x, 0) / 2)
    }
  })

  it("runs a row's last token when its state is what the cache holds, and the whole state when the cache is another's", () => {
    const t = Fixtures.trajectory(7, 3)
    const state = Context.flatten(Context.state(t, 2, m.config.contextLength).parts)
    const first = StateCache.sample(m, [{ state, cache: undefined }], Rng.make(1), { maxTokens: 4 })
    const again = StateCache.sample(m, [{ state, cache: first.caches[0] }], Rng.make(1), { maxTokens: 4 })
    expect(again.computed).toBe(1)
    expect(rowsOf(again.samples)).toEqual(rowsOf(first.samples))
    const other = Context.flatten(Context.state(Fixtures.trajectory(8, 2), 1, m.config.contextLength).parts)
    const fresh = StateCache.sample(m, [{ state: other, cache: again.caches[0] }], Rng.make(1), { maxTokens: 4 })
    expect(fresh.computed).toBe(other.length - (other[0] === state[0] ? 1 : 0) - (other[0] === state[0] && other[1] === state[1] ? 1 : 0))
    expect(StateCache.sample(m, [], Rng.make(1)).caches).toEqual([])
    expect(() => StateCache.sample(m, [{ state, cache: fresh.caches[0] }, { state: other, cache: fresh.caches[0] }], Rng.make(1))).toThrow("one entry passed for two rows")
  })

  it("leaves no tensors behind", () => {
    const trajs = [Fixtures.trajectory(9, 4), Fixtures.trajectory(10, 2)]
    const before = tf.memory().numTensors
    turns(copy, trajs, { maxTokens: 4 }, 5)
    expect(tf.memory().numTensors).toBe(before)
  })

  test.prop([fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 0, maxLength: 40 })])("passes hold every row once, longest first, each within twice its tokens (or one row)", (fresh) => {
    const gs = StateCache.groups(fresh)
    expect(gs.flat().slice().sort((a, b) => a - b)).toEqual(fresh.map((_, b) => b))
    const widths = gs.map((g) => fresh[g[0]!]!)
    for (const g of gs) {
      for (const b of g) expect(fresh[b]!).toBeLessThanOrEqual(fresh[g[0]!]!)
      const sum = g.reduce((a, b) => a + fresh[b]!, 0)
      if (g.length > 1) expect(g.length * fresh[g[0]!]!).toBeLessThanOrEqual(2 * sum)
    }
    expect(widths).toEqual(widths.slice().sort((a, b) => b - a))
  })
})
