import * as tf from "@tensorflow/tfjs"
import { fc, test } from "@fast-check/vitest"
import { beforeAll, describe, expect, it } from "vitest"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import { ACT, BOS, EOA, GAP, OBS } from "../../src/data/Tokenizer.ts"
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
  const t = Fixtures.trajectory(1, 5, { instruction: 5, observation: 4, action: 3 })
  // layout: bos + 5 = 6 tokens; each step: obs(1) + 4 + act(1) = 6 tokens of state, 3 + eoa = 4 of action: 10 per step
  // the head (pinned) is bos + instruction + step 0 = 16 tokens; the reserve is min(64, ctx / 4)
  it("keeps the whole state when it fits", () => {
    const s = Context.state(t, 3, 96)
    expect(concat(s.parts)).toEqual(Array.from(t.tokens.subarray(0, Tokenized.obsEnd(t, 3))))
    expect([s.truncatedTokens, s.truncatedTurns, s.firstStep, s.cut]).toEqual([0, 0, 0, false])
  })
  it("pins the instruction and the first step, drops middle turns and marks the gap", () => {
    // s_4 has 6 + 4 * 10 + 6 = 52 tokens; ctx 48 leaves 36: head 16 + gap 1 + steps 3..4 (10 + 6) = 33
    const s = Context.state(t, 4, 48)
    expect(s.firstStep).toBe(3)
    expect(s.truncatedTurns).toBe(2)
    expect(s.length).toBe(33)
    expect(s.truncatedTokens).toBe(52 - 32)
    expect(concat(s.parts)).toEqual([
      ...Array.from(t.tokens.subarray(0, Tokenized.obsStart(t, 1))),
      GAP,
      ...Array.from(t.tokens.subarray(Tokenized.obsStart(t, 3), Tokenized.obsEnd(t, 4)))
    ])
    expect(s.parts[0]![0]).toBe(BOS)
    expect(s.parts[2]![0]).toBe(OBS)
    expect(s.cut).toBe(false)
  })
  it("cuts inside only when the head and the current observation do not fit, keeping their beginnings", () => {
    const s = Context.state(t, 3, 24) // budget 18 < 16 + 1 + 6
    expect(s.length).toBe(18)
    expect(s.cut).toBe(true)
    const toks = concat(s.parts)
    expect(toks[0]).toBe(BOS)
    expect(toks).toContain(GAP)
    expect(toks[toks.length - 1]).toBe(ACT)
    const afterGap = toks.slice(toks.indexOf(GAP) + 1, -1)
    expect(afterGap).toEqual(Array.from(t.tokens.subarray(Tokenized.obsStart(t, 3), Tokenized.obsStart(t, 3) + afterGap.length)))
    expect(s.length + s.truncatedTokens).toBe(Tokenized.obsEnd(t, 3) + 1) // the gap is one token not in s_i
  })
  it("leaves the same room for every action: a chosen and a rejected action see the same state", () => {
    const long = Int32Array.from({ length: 30 }, (_, i) => 100 + i)
    const chosen = Score.segmentSequence(48, { trajectory: t, step: 4 })
    const rejected = Score.segmentSequence(48, { trajectory: t, step: 4, action: long })
    expect(concat(chosen.sequence.parts).slice(0, chosen.state.length)).toEqual(concat(rejected.sequence.parts).slice(0, rejected.state.length))
    expect(concat(chosen.state.parts)).toEqual(concat(Context.state(t, 4, 48).parts))
  })
})

describe("Context.windows", () => {
  it("is one window over the whole trajectory when it fits", () => {
    const t = Fixtures.trajectory(2, 5)
    const w = Context.windows(t, 200)
    expect(w.length).toBe(1)
    expect(w[0]!.actions.map(([a, e]) => [a, e])).toEqual(Array.from({ length: 5 }, (_, i) => [Tokenized.actStart(t, i), Tokenized.actEnd(t, i)]))
  })
  it("covers every step with windows inside the context, each action after ACT", () => {
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
    "windows cover every step once, within the context, and every step's state in its window is Context.state",
    ({ action, instruction, observation, seed, steps }, ctx) => {
      const t = Fixtures.trajectory(seed, steps, { instruction, observation, action })
      const ws = Context.windows(t, ctx)
      const covered = ws.flatMap((w) => Array.from({ length: w.lastStep - w.firstStep + 1 }, (_, k) => w.firstStep + k))
      expect(covered).toEqual(Array.from({ length: steps }, (_, i) => i))
      const budget = Math.max(2, ctx - Context.actionReserve(ctx))
      for (const w of ws) {
        expect(w.length).toBeLessThanOrEqual(ctx)
        const toks = concat(w.parts)
        expect(toks.length).toBe(w.length)
        w.actions.forEach(([a, e], k) => {
          expect(a).toBeGreaterThanOrEqual(1)
          expect(e).toBeLessThanOrEqual(w.length)
          // training sees exactly the state that sampling and evaluation act from
          expect(toks.slice(0, a)).toEqual(concat(Context.state(t, w.firstStep + k, ctx).parts))
        })
      }
      for (let i = 0; i < steps; i++) {
        const s = Context.state(t, i, ctx)
        expect(s.length).toBeLessThanOrEqual(budget)
        expect(concat(s.parts).length).toBe(s.length)
        expect(s.parts[0]![0]).toBe(BOS)
        expect(concat(s.parts)[s.length - 1]).toBe(ACT)
        if (!s.cut) expect(s.length + s.truncatedTokens).toBe(Tokenized.obsEnd(t, i) + (s.truncatedTurns > 0 ? 1 : 0))
        // the head (the task) is kept whenever it fits in half the budget
        if (i > 0 && Tokenized.obsStart(t, 1) <= budget / 2 - 1) {
          expect(concat(s.parts).slice(0, Tokenized.obsStart(t, 1))).toEqual(Array.from(t.tokens.subarray(0, Tokenized.obsStart(t, 1))))
        }
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
