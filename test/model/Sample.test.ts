import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import { EOA, PAD } from "../../src/data/Tokenizer.ts"
import * as Context from "../../src/model/Context.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Sample from "../../src/model/Sample.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Fixtures from "./Fixtures.ts"

let m: Transformer.Model
beforeAll(async () => {
  await Fixtures.cpu()
  m = Transformer.init(Fixtures.tinyConfig(), 9)
})

const requests = (trajs: ReadonlyArray<Tokenized.TokenizedTrajectory>): Array<Sample.StateRequest> =>
  trajs.flatMap((t) => Array.from({ length: Tokenized.stepCount(t) }, (_, step) => ({ trajectory: t, step })))

/** Every request as its own prefix (no sharing), for the reference sampler; states at `contextLength` (the fixture model's by default). */
const separate = (reqs: ReadonlyArray<Sample.StateRequest>, k: number, contextLength = m.config.contextLength) => {
  const states = reqs.map((r) => Context.state(r.trajectory, r.step, contextLength))
  return {
    prefixes: states.map((s) => s.parts),
    prompts: states.flatMap((s, i) => Array.from({ length: k }, () => ({ prefix: i, length: s.length })))
  }
}

const rowsOf = (s: Sample.Samples): Array<Array<number>> =>
  Array.from({ length: s.rows }, (_, r) => Array.from(s.tokens.subarray(r * s.width, r * s.width + s.lengths[r]!)))


/**
 * The sampled rows' per-token log-probs and values against the packed scoring of the same actions at the same states
 * (what PPO's old policy would be): PPO takes them from sampling (`Ppo.sampled`).
 */
const expectScoredAsPacked = (model: Transformer.Model, reqs: ReadonlyArray<Sample.StateRequest>, k: number, s: Sample.Samples): void => {
  const packed = Score.packed(model, Array.from({ length: s.rows }, (_, r) => ({
    ...reqs[Math.floor(r / k)]!,
    action: s.tokens.slice(r * s.width, r * s.width + s.lengths[r]!)
  })))
  let tokens = 0
  for (let r = 0; r < s.rows; r++) {
    for (let j = 0; j < s.width; j++) {
      const at = r * packed.width + j
      if (j < s.lengths[r]!) {
        tokens++
        expect(packed.mask[at]).toBe(1)
        expect(Math.abs(s.logp[r * s.width + j]! - packed.logp[at]!)).toBeLessThan(1e-4)
        expect(Math.abs(s.values[r * s.width + j]! - packed.values[at]!)).toBeLessThan(1e-4)
      } else {
        expect(s.values[r * s.width + j]).toBe(0)
        if (j < packed.width) expect(packed.mask[at]).toBe(0)
      }
    }
  }
  expect(tokens).toBeGreaterThan(s.rows)
}

describe("Sample", () => {
  const trajs = [Fixtures.trajectory(30, 3), Fixtures.trajectory(31, 2)]
  const cases: ReadonlyArray<Sample.Options> = [
    { maxTokens: 10 },
    { maxTokens: 10, temperature: 0.7, topK: 20 },
    { maxTokens: 10, temperature: 1.3, topP: 0.9 },
    { maxTokens: 10, temperature: 0 }
  ]
  for (const o of cases) {
    it(`cached sampling yields exactly the tokens of uncached sampling (${JSON.stringify(o)})`, () => {
      const reqs = requests(trajs)
      const shared = Sample.states(m, reqs, 2, Rng.make(42), o)
      const sep = separate(reqs, 2)
      const cachedSeparate = Sample.sample(m, sep.prefixes, sep.prompts, Rng.make(42), o)
      const uncached = Sample.sampleUncached(m, sep.prefixes, sep.prompts, Rng.make(42), o)
      expect(rowsOf(shared)).toEqual(rowsOf(uncached))
      expect(rowsOf(cachedSeparate)).toEqual(rowsOf(uncached))
      expect(Array.from(shared.stopped)).toEqual(Array.from(uncached.stopped))
      for (let i = 0; i < shared.logp.length; i++) expect(Math.abs(shared.logp[i]! - uncached.logp[i]!)).toBeLessThan(1e-4)
    })
  }
  it("gives the same rows when the requests are sampled in several calls (maxRows)", () => {
    const reqs = requests(trajs)
    const whole = Sample.states(m, reqs, 2, Rng.make(4), { maxTokens: 6, temperature: 0 })
    const split = Sample.states(m, reqs, 2, Rng.make(4), { maxTokens: 6, temperature: 0, maxRows: 4 })
    expect(rowsOf(split)).toEqual(rowsOf(whole))
    expect(split.rows).toBe(reqs.length * 2)
  })
  it("is reproducible from the seed, advances the rng, and differs with another seed", () => {
    const reqs = requests(trajs)
    const rng = Rng.make(1)
    const a = Sample.states(m, reqs, 1, rng, { maxTokens: 8 })
    const b = Sample.states(m, reqs, 1, Rng.make(1), { maxTokens: 8 })
    const c = Sample.states(m, reqs, 1, rng, { maxTokens: 8 })
    expect(rowsOf(a)).toEqual(rowsOf(b))
    expect(rowsOf(c)).not.toEqual(rowsOf(a))
  })
  it("stops at EOA, pads after it, and reports the sampled tokens' log-probs as scoring does", () => {
    const reqs = requests([trajs[0]!])
    const s = Sample.states(m, reqs, 3, Rng.make(7), { maxTokens: 6 })
    for (let r = 0; r < s.rows; r++) {
      const row = Array.from(s.tokens.subarray(r * 6, r * 6 + 6))
      const n = s.lengths[r]!
      if (s.stopped[r] === 1) expect(row[n - 1]).toBe(EOA)
      else expect(n).toBe(6)
      expect(row.slice(0, n - 1)).not.toContain(EOA)
      expect(row.slice(n).every((x) => x === PAD)).toBe(true)
    }
    // the log-prob of each sampled action, rescored
    const scored = Score.segments(m, reqs.flatMap((q, i) => [0, 1, 2].map((j) => ({
      ...q,
      action: s.tokens.slice((i * 3 + j) * 6, (i * 3 + j) * 6 + s.lengths[i * 3 + j]!)
    }))))
    for (let r = 0; r < s.rows; r++) {
      let sum = 0
      for (let j = 0; j < s.lengths[r]!; j++) sum += s.logp[r * 6 + j]!
      expect(Math.abs(sum - scored.sum[r]!)).toBeLessThan(1e-4)
    }
  })
  it("ends every row at once when the model always predicts EOA", () => {
    // untied head; the final LayerNorm outputs its bias b everywhere; EOA's head column is 10 b
    const c = Fixtures.tinyConfig({ tieEmbeddings: false })
    const e = Transformer.init(c, 4)
    const C = c.dModel
    const b = Float32Array.from({ length: C }, (_, i) => (i % 3) - 1)
    e.weights.lnfGain.assign(tf.zeros([C]))
    e.weights.lnfBias.assign(tf.tensor1d(b))
    const head = new Float32Array(C * c.vocabSize)
    for (let i = 0; i < C; i++) head[i * c.vocabSize + EOA] = 10 * b[i]!
    e.weights.head!.assign(tf.tensor2d(head, [C, c.vocabSize]))
    const s = Sample.states(e, requests(trajs), 2, Rng.make(0), { maxTokens: 5 })
    expect(Array.from(s.lengths).every((n) => n === 1)).toBe(true)
    expect(Array.from(s.stopped).every((x) => x === 1)).toBe(true)
    expect(rowsOf(s).every((r) => r[0] === EOA)).toBe(true)
    Transformer.dispose(e)
  })
  it("gives each sampled token's log-prob and value as packed scoring does, on whole and truncated states, k = 2", () => {
    for (const contextLength of [128, 40]) {
      const c = Transformer.init(Fixtures.tinyConfig({ contextLength }), 12)
      const reqs = requests([Fixtures.trajectory(50, 4), Fixtures.trajectory(51, 3)])
      expect(reqs.some((q) => Context.state(q.trajectory, q.step, contextLength).truncatedTurns > 0)).toBe(contextLength === 40)
      const s = Sample.states(c, reqs, 2, Rng.make(8), { maxTokens: 8, temperature: 1 })
      expectScoredAsPacked(c, reqs, 2, s)
      const sep = separate(reqs, 2, contextLength)
      const uncached = Sample.sampleUncached(c, sep.prefixes, sep.prompts, Rng.make(8), { maxTokens: Math.min(8, Context.actionReserve(contextLength)) })
      for (let i = 0; i < s.values.length; i++) expect(Math.abs(s.values[i]! - uncached.values[i]!)).toBeLessThan(1e-4)
      Transformer.dispose(c)
    }
  })
  it("stops a row at the context's end", () => {
    const small = Transformer.init(Fixtures.tinyConfig({ contextLength: 24 }), 9)
    const prefix = [Int32Array.from({ length: 20 }, (_, i) => 1 + (i % 200))]
    const s = Sample.sample(small, [prefix], [{ prefix: 0, length: 20 }, { prefix: 0, length: 10 }], Rng.make(3), { maxTokens: 8, stop: -1 })
    expect(Array.from(s.lengths)).toEqual([4, 8])
    expect(Array.from(s.stopped)).toEqual([0, 0])
    Transformer.dispose(small)
  })
  it("cached equals uncached while rows end at different steps (groups re-laid out as rows finish)", () => {
    const small = Transformer.init(Fixtures.tinyConfig({ contextLength: 24 }), 10)
    const a = [Int32Array.from({ length: 22 }, (_, i) => 1 + ((i * 37) % 250))]
    const b = [Int32Array.from({ length: 9 }, (_, i) => 3 + ((i * 11) % 250))]
    // 12 rows cut from prefix a at lengths 10..21 (limits 12 down to 3 tokens), 3 rows on prefix b
    const prompts = [
      ...Array.from({ length: 12 }, (_, i) => ({ prefix: 0, length: 21 - i })),
      { prefix: 1, length: 9 }, { prefix: 1, length: 5 }, { prefix: 1, length: 9 }
    ]
    const o = { maxTokens: 12, stop: -1, temperature: 1.5 }
    const cached = Sample.sample(small, [a, b], prompts, Rng.make(8), o)
    const uncached = Sample.sampleUncached(small, [a, b], prompts, Rng.make(8), o)
    expect(rowsOf(cached)).toEqual(rowsOf(uncached))
    expect(Array.from(cached.lengths)).toEqual([...Array.from({ length: 12 }, (_, i) => Math.min(12, 3 + i)), 12, 12, 12])
    Transformer.dispose(small)
  })
  it("with a generator per request, a request's rows are what it gets alone, whatever shares the batch", () => {
    // the policy server's batching: request A (2 rows, one generator), B (1 row), C (3 rows), sampled together and apart
    const reqs = requests(trajs)
    const sep = separate(reqs, 1)
    const prefixes = sep.prefixes.slice(0, 3)
    const rowsPer = [2, 1, 3]
    const o = { maxTokens: 10, temperature: 1.2, stop: -1 }
    const alone = rowsPer.map((k, p) =>
      rowsOf(Sample.sample(m, [prefixes[p]!], Array.from({ length: k }, () => ({ prefix: 0, length: sep.prompts[p]!.length })), Rng.make(100 + p), o))
    )
    const gens = rowsPer.map((_, p) => Rng.make(100 + p))
    const prompts = rowsPer.flatMap((k, p) => Array.from({ length: k }, () => ({ prefix: p, length: sep.prompts[p]!.length })))
    const together = rowsOf(Sample.sample(m, prefixes, prompts, rowsPer.flatMap((k, p) => Array.from({ length: k }, () => gens[p]!)), o))
    expect(together).toEqual(alone.flat())
    expect(() => Sample.sample(m, prefixes, prompts, [Rng.make(1)], o)).toThrow(/1 generators for 6 rows/)
  })
  it("greedy sampling picks the argmax", () => {
    const logits = Float32Array.from([0.1, 2, -1, 2, 0.5])
    const o = { maxTokens: 1, temperature: 0, topK: 0, topP: 1, stop: EOA }
    expect(Sample.choose(logits, 0, 5, o, 0.99)).toBe(1)
    const f = { ...o, temperature: 1, topK: 2 }
    const seen = new Set([0.01, 0.3, 0.6, 0.99].map((u) => Sample.choose(logits, 0, 5, f, u)))
    expect([...seen].sort()).toEqual([1, 3])
    const p = { ...o, temperature: 1, topP: 0.01 }
    expect(Sample.choose(logits, 0, 5, p, 0.99)).toBe(1)
  })
})

describe("Sample with the copy head", () => {
  // a copy head whose gate is pushed open, so that copied tokens dominate the draws, with suffix-match biases set
  // (sampling computes the matches on the host, scoring in Copy.plan: the comparisons below check they agree)
  const copyModel = (seed: number, contextLength = 96) => {
    const c = Transformer.init(Fixtures.tinyConfig({ copyHead: true, copyMatch: true, contextLength }), seed)
    c.weights.copy!.gateBias.assign(tf.tensor1d([2]))
    c.weights.copy!.match!.assign(tf.tensor1d([0, 0.7, 1.5, 2.2, 3]))
    return c
  }
  const trajs = [Fixtures.trajectory(40, 3), Fixtures.trajectory(41, 2)]
  it("cached sampling yields the tokens of uncached sampling, and log-probs as scoring gives them", () => {
    const c = copyModel(11)
    const reqs = requests(trajs)
    const o = { maxTokens: 8, temperature: 1 }
    const shared = Sample.states(c, reqs, 2, Rng.make(5), o)
    const sep = separate(reqs, 2)
    const uncached = Sample.sampleUncached(c, sep.prefixes, sep.prompts, Rng.make(5), o)
    expect(rowsOf(shared)).toEqual(rowsOf(uncached))
    for (let i = 0; i < shared.logp.length; i++) expect(Math.abs(shared.logp[i]! - uncached.logp[i]!)).toBeLessThan(1e-4)
    const scored = Score.segments(c, reqs.flatMap((q, i) => [0, 1].map((j) => ({ ...q, action: shared.tokens.slice((i * 2 + j) * 8, (i * 2 + j) * 8 + shared.lengths[i * 2 + j]!) }))))
    for (let r = 0; r < shared.rows; r++) {
      let sum = 0
      for (let j = 0; j < shared.lengths[r]!; j++) sum += shared.logp[r * 8 + j]!
      expect(Math.abs(sum - scored.sum[r]!)).toBeLessThan(1e-3)
    }
    // most draws copy a token of the state (the gate is at 0.88)
    let copied = 0
    let total = 0
    reqs.forEach((q, i) => {
      const state = new Set(Array.from(q.trajectory.tokens.subarray(0, Tokenized.obsEnd(q.trajectory, q.step))))
      for (const j of [0, 1]) {
        const r = i * 2 + j
        for (let t = 0; t < shared.lengths[r]!; t++) {
          total++
          if (state.has(shared.tokens[r * 8 + t]!)) copied++
        }
      }
    })
    expect(copied / total).toBeGreaterThan(0.6)
    Transformer.dispose(c)
  })
  it("gives each sampled token's log-prob and value as packed scoring does (the copy head's share included)", () => {
    const c = copyModel(13)
    const reqs = requests(trajs)
    expectScoredAsPacked(c, reqs, 2, Sample.states(c, reqs, 2, Rng.make(6), { maxTokens: 8, temperature: 1 }))
    Transformer.dispose(c)
  })
  it("one pass per trajectory equals per-segment scoring", () => {
    const c = copyModel(12)
    const all = trajs.flatMap((t) => Array.from({ length: Tokenized.stepCount(t) }, (_, step) => ({ trajectory: t, step })))
    const one = Score.trajectories(c, trajs)
    const seg = Score.segments(c, all)
    for (let i = 0; i < one.sum.length; i++) expect(Math.abs(one.sum[i]! - seg.sum[i]!)).toBeLessThan(1e-4)
    Transformer.dispose(c)
  })
})
