import * as tf from "@tensorflow/tfjs"
import { fc, test } from "@fast-check/vitest"
import { beforeAll, describe, expect, it } from "vitest"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import { ACT, BOS, EOA, OBS } from "../../src/data/Tokenizer.ts"
import * as ActionBatch from "../../src/model/ActionBatch.ts"
import * as Context from "../../src/model/Context.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Fixtures from "./Fixtures.ts"

beforeAll(Fixtures.cpu)

const allSteps = (trajs: ReadonlyArray<Tokenized.TokenizedTrajectory>): Array<Score.SegmentRequest> =>
  trajs.flatMap((t) => Array.from({ length: Tokenized.stepCount(t) }, (_, step) => ({ trajectory: t, step })))

const concat = (parts: ReadonlyArray<Int32Array>): Array<number> => parts.flatMap((p) => Array.from(p))

const expectClose = (a: Float32Array, b: Float32Array, tol: number) => {
  expect(a.length).toBe(b.length)
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `entry ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(tol)
}

describe("Context.state", () => {
  const t = Fixtures.trajectory(1, 4, { instruction: 5, observation: 4, action: 3 })
  // layout: bos + 5 = 6 tokens; each step: obs(1) + 4 + act(1) = 6 tokens of state, 3 + eoa = 4 of action: 10 per step
  it("keeps the whole state when it fits", () => {
    const s = Context.state(t, 3, 96, 4)
    expect(concat(s.parts)).toEqual(Array.from(t.tokens.subarray(0, Tokenized.obsEnd(t, 3))))
    expect([s.truncatedTokens, s.truncatedTurns, s.firstStep]).toEqual([0, 0, 0])
  })
  it("keeps the instruction and drops the oldest whole steps first", () => {
    // s_3 has 6 + 3 * 10 + 6 = 42 tokens; a budget of 30 keeps the instruction + steps 2..3 (6 + 10 + 6 = 22)
    const s = Context.state(t, 3, 34, 4)
    expect(s.firstStep).toBe(2)
    expect(s.truncatedTurns).toBe(2)
    expect(s.truncatedTokens).toBe(20)
    expect(s.length).toBe(22)
    expect(concat(s.parts)).toEqual([
      ...Array.from(t.tokens.subarray(0, 6)),
      ...Array.from(t.tokens.subarray(Tokenized.obsStart(t, 2), Tokenized.obsEnd(t, 3)))
    ])
    expect(s.parts[0]![0]).toBe(BOS)
    expect(s.parts[1]![0]).toBe(OBS)
    expect(s.parts[1]![s.parts[1]!.length - 1]).toBe(ACT)
  })
  it("cuts inside only when the instruction and the current observation do not fit", () => {
    const s = Context.state(t, 3, 12, 4) // budget 8 < 6 + 6
    expect(s.length).toBe(8)
    expect(s.truncatedTurns).toBe(3)
    expect(s.truncatedTokens).toBe(42 - 8)
    expect(s.parts[0]![0]).toBe(BOS)
    expect(s.parts[s.parts.length - 1]![s.parts[s.parts.length - 1]!.length - 1]).toBe(ACT)
  })
})

describe("Context.windows", () => {
  it("is one window over the whole trajectory when it fits", () => {
    const t = Fixtures.trajectory(2, 5)
    const w = Context.windows(t, 200)
    expect(w.length).toBe(1)
    expect(w[0]!.actions.map(([a, e]) => [a, e])).toEqual(Array.from({ length: 5 }, (_, i) => [Tokenized.actStart(t, i), Tokenized.actEnd(t, i)]))
  })
  it("covers every step with windows inside the context, each action ending with EOA", () => {
    const t = Fixtures.trajectory(3, 12)
    for (const ctx of [20, 32, 50]) {
      const ws = Context.windows(t, ctx)
      expect(ws.flatMap((w) => Array.from({ length: w.lastStep - w.firstStep + 1 }, (_, k) => w.firstStep + k))).toEqual(Array.from({ length: 12 }, (_, i) => i))
      for (const w of ws) {
        expect(w.length).toBeLessThanOrEqual(ctx)
        const toks = concat(w.parts)
        expect(toks.length).toBe(w.length)
        w.actions.forEach(([a, e], k) => {
          const full = Score.expertAction(t, w.firstStep + k)
          if (e - a === full.length) expect(toks.slice(a, e)).toEqual(Array.from(full))
          expect(toks[a - 1]).toBe(ACT)
        })
      }
      // the first step of each window sees exactly its per-segment state
      for (const w of ws) {
        const a = w.actions[0]!
        const seg = Score.segmentSequence(ctx, { trajectory: t, step: w.firstStep })
        expect(concat(w.parts).slice(0, a[0])).toEqual(concat(seg.sequence.parts).slice(0, seg.state.length))
      }
    }
  })
})

describe("Context properties", () => {
  const trajectoryArb = fc.record({
    seed: fc.integer({ min: 0, max: 1e6 }),
    steps: fc.integer({ min: 1, max: 12 }),
    instruction: fc.integer({ min: 0, max: 30 }),
    observation: fc.integer({ min: 0, max: 40 }),
    action: fc.integer({ min: 0, max: 20 })
  })
  test.prop([trajectoryArb, fc.integer({ min: 8, max: 200 })], { numRuns: 300 })(
    "windows cover every step once, in order, within the context; states fit their budget",
    ({ action, instruction, observation, seed, steps }, ctx) => {
      const t = Fixtures.trajectory(seed, steps, { instruction, observation, action })
      const ws = Context.windows(t, ctx)
      const covered = ws.flatMap((w) => Array.from({ length: w.lastStep - w.firstStep + 1 }, (_, k) => w.firstStep + k))
      expect(covered).toEqual(Array.from({ length: steps }, (_, i) => i))
      for (const w of ws) {
        expect(w.length).toBeLessThanOrEqual(ctx)
        expect(concat(w.parts).length).toBe(w.length)
        for (const [a, e] of w.actions) {
          expect(a).toBeGreaterThanOrEqual(1)
          expect(e).toBeLessThanOrEqual(w.length)
        }
      }
      for (let i = 0; i < steps; i++) {
        const reserve = Math.min(Tokenized.actEnd(t, i) - Tokenized.actStart(t, i), ctx - 1)
        const s = Context.state(t, i, ctx, reserve)
        expect(s.length).toBeLessThanOrEqual(Math.max(1, ctx - reserve))
        expect(concat(s.parts).length).toBe(s.length)
        expect(s.length + s.truncatedTokens).toBe(Tokenized.obsEnd(t, i))
        expect(s.parts[0]![0]).toBe(BOS)
      }
    }
  )
})

describe("ActionBatch.build", () => {
  it("points each action token at the position that predicts it", () => {
    const b = ActionBatch.build([{ parts: [Int32Array.from([1, 2, 3]), Int32Array.from([7, 8, EOA])], actions: [[3, 6]] }, { parts: [Int32Array.from([1, 9, 5])], actions: [[1, 2], [2, 3]] }])
    expect([b.batch, b.length, b.rows, b.width]).toEqual([2, 6, 3, 3])
    expect(Array.from(b.index)).toEqual([2, 3, 4, 6, 6, 6, 7, 7, 7])
    expect(Array.from(b.target)).toEqual([7, 8, EOA, 9, 0, 0, 5, 0, 0])
    expect(Array.from(b.mask)).toEqual([1, 1, 1, 1, 0, 0, 1, 0, 0])
    expect(Array.from(b.last)).toEqual([5, 7, 8])
  })
})

describe("Score", () => {
  let m: Transformer.Model
  beforeAll(() => {
    m = Transformer.init(Fixtures.tinyConfig(), 5)
  })
  it("one pass per trajectory equals per-segment scoring (log-probs to 1e-5, values too)", () => {
    const trajs = [Fixtures.trajectory(10, 6), Fixtures.trajectory(11, 2), Fixtures.trajectory(12, 4)]
    const one = Score.trajectories(m, trajs)
    const seg = Score.segments(m, allSteps(trajs))
    expect(one.rows).toBe(12)
    expect(Array.from(one.firstRow)).toEqual([0, 6, 8])
    expectClose(one.logp, seg.logp, 1e-5)
    expectClose(one.sum, seg.sum, 1e-5)
    expectClose(one.values, seg.values, 1e-5)
    expectClose(one.stateValue, seg.stateValue, 1e-5)
    expect(one.truncatedTokens).toBe(0)
  })
  it("equals per-segment scoring for the first step of every window of a trajectory longer than the context", () => {
    const small = Transformer.init(Fixtures.tinyConfig({ contextLength: 40 }), 5)
    const t = Fixtures.trajectory(13, 10)
    const one = Score.trajectories(small, [t])
    const seg = Score.segments(small, allSteps([t]))
    expect(one.truncatedTurns).toBeGreaterThan(0)
    for (const w of Context.windows(t, 40)) {
      const r = w.firstStep
      expect(Math.abs(one.sum[r]! - seg.sum[r]!)).toBeLessThan(1e-5)
    }
    Transformer.dispose(small)
  })
  it("is the log-softmax of the model's own logits, summed over the action", () => {
    const t = Fixtures.trajectory(14, 2)
    const s = Score.segments(m, [{ trajectory: t, step: 1 }])
    const toks = t.tokens.subarray(0, Tokenized.actEnd(t, 1))
    const logp = tf.tidy(() => {
      const f = Transformer.forward(m, tf.tensor2d(toks, [1, toks.length], "int32"))
      return tf.logSoftmax(Transformer.logits(m, f.hidden))
    })
    const lp = logp.arraySync() as Array<Array<number>>
    logp.dispose()
    let sum = 0
    for (let p = Tokenized.actStart(t, 1); p < Tokenized.actEnd(t, 1); p++) sum += lp[p - 1]![toks[p]!]!
    expect(s.sum[0]).toBeCloseTo(sum, 4)
  })
  it("gives the same rows whatever the pass size (sorting and chunking are invisible)", () => {
    const trajs = [Fixtures.trajectory(20, 3), Fixtures.trajectory(21, 5)]
    const a = Score.segments(m, allSteps(trajs))
    const b = Score.segments(m, allSteps(trajs), { maxTokens: 40 })
    expectClose(a.logp, b.logp, 1e-5)
    expectClose(a.sum, b.sum, 1e-5)
  })
  it("scores a given action (a sample) at an expert state", () => {
    const t = Fixtures.trajectory(22, 3)
    const action = Int32Array.from([100, 101, EOA])
    const s = Score.segments(m, [{ trajectory: t, step: 2, action }])
    expect(s.width).toBe(3)
    expect(Array.from(s.mask)).toEqual([1, 1, 1])
    expect(s.sum[0]).toBeLessThan(0)
  })
})
