import * as tf from "@tensorflow/tfjs"
import { fc, test } from "@fast-check/vitest"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BYTE_OFFSET, EOA } from "../../src/data/Tokenizer.ts"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as ActionBatch from "../../src/model/ActionBatch.ts"
import * as Discriminator from "../../src/model/Discriminator.ts"
import * as Packed from "../../src/model/Packed.ts"
import * as Policy from "../../src/model/Policy.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Fixtures from "./Fixtures.ts"

beforeAll(Fixtures.cpu)

/** |a - b| <= tol * max(1, |b|) entry by entry. */
const expectClose = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  expect(a.length, what).toBe(b.length)
  for (let i = 0; i < a.length; i++) {
    expect(Math.abs(a[i]! - b[i]!), `${what} ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!)))
  }
}

/** Requests over trajectories: at each step the expert's action and `k` random actions (some copying trajectory tokens). */
const requestsOf = (trajs: ReadonlyArray<Tokenized.TokenizedTrajectory>, k: number, seed: number): Array<Packed.Request> => {
  const rng = Rng.make(seed)
  const out: Array<Packed.Request> = []
  for (const t of trajs) {
    for (let step = 0; step < Tokenized.stepCount(t); step++) {
      out.push({ trajectory: t, step })
      for (let j = 0; j < k; j++) {
        const n = 1 + Math.floor(Rng.uniform(rng) * 5)
        const action = Int32Array.from({ length: n }, (_, i) =>
          i === n - 1 ? EOA : Rng.uniform(rng) < 0.5 ? t.tokens[Math.floor(Rng.uniform(rng) * t.tokens.length)]! : BYTE_OFFSET + Math.floor(Rng.uniform(rng) * 256))
        out.push({ trajectory: t, step, action })
      }
    }
  }
  // a shuffled order: rows come back in request order whatever the grouping
  return out.map((r, i) => [Rng.uniform(rng), i, r] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, , r]) => r)
}

describe("Packed", () => {
  const models = new Map<string, Transformer.Model>()
  const model = (contextLength: number, copyHead: boolean) => {
    const key = `${contextLength}/${copyHead}`
    if (!models.has(key)) {
      const m = Transformer.init(Fixtures.tinyConfig({ contextLength, copyHead, copyMatch: copyHead }), 3)
      m.weights.copy?.match?.assign(tf.tensor1d([0, 0.7, 1.5, 2.2, 3])) // the suffix-match bias at work (its init is 0)
      models.set(key, m)
    }
    return models.get(key)!
  }
  afterAll(() => {
    for (const m of models.values()) Transformer.dispose(m)
  })

  test.prop(
    [
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: 1, max: 7 }),
      fc.constantFrom(40, 64, 96),
      fc.integer({ min: 1, max: 3 }),
      fc.boolean(),
      fc.constantFrom(undefined, 30, 60)
    ],
    { numRuns: 8, seed: 11 }
  )("packed scores equal per-pair scores: log-probs, values, sums (1e-5 relative), with truncation, k > 1, the copy head and split packs", (seed, steps, ctx, k, copyHead, maxLength) => {
    const m = model(ctx, copyHead)
    const trajs = [Fixtures.trajectory(seed, steps), Fixtures.trajectory(seed + 1, 1 + (steps % 3))]
    const reqs = requestsOf(trajs, k, seed)
    const packed = Score.packed(m, reqs, { maxLength })
    const pairs = Score.segments(m, reqs)
    expect(packed.rows).toBe(pairs.rows)
    expectClose(packed.sum, pairs.sum, 1e-5, "sum")
    expectClose(packed.stateValue, pairs.stateValue, 1e-5, "stateValue")
    const W = Math.min(packed.width, pairs.width)
    for (let r = 0; r < packed.rows; r++) {
      expectClose(packed.logp.subarray(r * packed.width, r * packed.width + W), pairs.logp.subarray(r * pairs.width, r * pairs.width + W), 1e-5, `logp row ${r}`)
      expectClose(packed.values.subarray(r * packed.width, r * packed.width + W), pairs.values.subarray(r * pairs.width, r * pairs.width + W), 1e-5, `values row ${r}`)
    }
  })

  it("packs a trajectory's pairs into one sequence far shorter than the pairs together", () => {
    const t = Fixtures.trajectory(7, 10, { instruction: 6, observation: 6, action: 3 })
    const reqs = requestsOf([t], 1, 1)
    const p = Packed.pack(200, reqs)
    expect(p.sequences.length).toBe(1)
    const perPair = reqs.reduce((n, r) => n + Score.segmentSequence(200, r).sequence.parts.reduce((a, x) => a + x.length, 0), 0)
    expect(p.lengths[0]! * 5).toBeLessThan(perPair)
    expect(Array.from(p.requestsOf[0]!).sort((a, b) => a - b)).toEqual(reqs.map((_, i) => i))
  })

  it("never builds a sequence longer than maxLength unless it holds a single pair", () => {
    const t = Fixtures.trajectory(8, 8)
    const p = Packed.pack(96, requestsOf([t], 3, 2), { maxLength: 80 })
    expect(p.sequences.length).toBeGreaterThan(1)
    p.sequences.forEach((s, i) => {
      if (s.actions.length > 1) expect(p.lengths[i]).toBeLessThanOrEqual(80)
    })
  })

  it("keeps the j-th expert request of a step in the sequence of the j-th branch there (a pair stays in one pass)", () => {
    const t = Fixtures.trajectory(9, 8)
    const agent = requestsOf([t], 3, 4).filter((r) => r.action !== undefined)
    const reqs = [...agent.map((r) => ({ trajectory: r.trajectory, step: r.step })), ...agent] // pair i: request i (chosen) and n + i (rejected)
    const p = Packed.pack(96, reqs, { maxLength: 70 })
    expect(p.sequences.length).toBeGreaterThan(1)
    const where = new Map<number, number>()
    p.requestsOf.forEach((rs, s) => rs.forEach((r) => where.set(r, s)))
    expect(where.size).toBe(reqs.length)
    const n = agent.length
    const byStep = (from: number) => {
      const out = new Map<number, Array<number>>()
      for (let i = 0; i < n; i++) out.set(reqs[from + i]!.step, [...(out.get(reqs[from + i]!.step) ?? []), where.get(from + i)!])
      return out
    }
    expect(byStep(0)).toEqual(byStep(n))
  })

  test.prop([fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 40, max: 200 })], { numRuns: 25 })(
    "a packed batch's mask lets a trunk token see the trunk up to it, a branch token the trunk before its state's end and its own branch up to it",
    (seed, k, contextLength) => {
      const trajs = [0, 1, 2].map((i) => Fixtures.trajectory(seed + i, 2 + (seed + i) % 3, { instruction: 6, observation: 8, action: 3 }))
      const packing = Packed.pack(contextLength, requestsOf(trajs, k, seed))
      const sequences = packing.sequences
      const b = ActionBatch.build(sequences)
      expect(b.layout).toBeDefined()
      const mask = ActionBatch.maskOf(b.layout!, b.batch, b.length)
      const T = b.length
      sequences.forEach((sq, s) => {
        const n = sq.parts.reduce((a, x) => a + x.length, 0)
        const branches = sq.branches ?? []
        const trunk = branches.length === 0 ? n : branches[0]!.start
        for (let p = 0; p < n; p++) {
          const br = branches.find((x) => p >= x.start && p < x.end)
          const sees = (j: number) => br === undefined ? j <= p : j < br.attach || (j >= br.start && j <= p)
          for (let j = 0; j < T; j++) {
            if ((mask[(s * T + p) * T + j] === 0) !== sees(j)) expect.fail(`sequence ${s} row ${p} column ${j} (trunk ${trunk}, branch ${JSON.stringify(br)})`)
          }
        }
      })
    }
  )

  it("refuses a request for a step the trajectory does not have", () => {
    const t = Fixtures.trajectory(12, 2)
    expect(() => Packed.pack(96, [{ trajectory: t, step: 2 }])).toThrow(/step 2 of a 2-step trajectory/)
  })

  it("rejects a branch that does not follow the trunk", () => {
    expect(() => ActionBatch.build([{ parts: [Int32Array.from([1, 2, 3, 4])], actions: [[3, 4]], branches: [{ start: 2, end: 4, attach: 2 }, { start: 2, end: 4, attach: 1 }] }]))
      .toThrow(/bad branch/)
  })

  it("gives the policy's and the discriminator's gradients of per-pair training, to 1e-5 relative", () => {
    const m = model(64, true)
    const d = Discriminator.init(Discriminator.config(m.config, { dModel: 32 }), 4)
    const trajs = [Fixtures.trajectory(30, 4), Fixtures.trajectory(31, 2)]
    const reqs = requestsOf(trajs, 2, 5)
    const weights = Float32Array.from(reqs, (_, i) => ((i * 7) % 5) - 2) // a fixed signed weight per row
    const grads = (batches: ReadonlyArray<{ readonly batch: ActionBatch.ActionBatch; readonly requests: Int32Array }>) => {
      const loss = () => tf.tidy(() => {
        let total: tf.Scalar = tf.scalar(0)
        for (const { batch, requests } of batches) {
          const t = ActionBatch.tensors(batch, true)
          const o = Policy.outputs(m, t)
          const w = tf.tensor1d(Float32Array.from(requests, (r) => weights[r]!))
          total = tf.add(total, tf.sum(tf.mul(tf.sum(tf.add(o.logp, tf.mul(o.values, o.mask)), 1), w)))
          total = tf.add(total, tf.sum(tf.mul(Discriminator.logits(d, t), w)))
        }
        return total as tf.Scalar
      })
      const { grads: g, value } = tf.variableGrads(loss)
      const out = new Map(Object.entries(g).map(([name, x]) => [name, x.dataSync().slice()] as const))
      for (const x of Object.values(g)) x.dispose()
      value.dispose()
      return out
    }
    const packed = grads(Packed.passes(Packed.pack(64, reqs), 8192))
    const perPair = grads([{ batch: ActionBatch.build(reqs.map((r) => Score.segmentSequence(64, r).sequence)), requests: Int32Array.from(reqs, (_, i) => i) }])
    expect([...packed.keys()].sort()).toEqual([...perPair.keys()].sort())
    for (const [name, g] of perPair) {
      const scale = Math.max(1e-3, ...Array.from(g, Math.abs))
      const p = packed.get(name)!
      for (let i = 0; i < g.length; i++) expect(Math.abs(p[i]! - g[i]!) / scale, `${name}[${i}]`).toBeLessThanOrEqual(1e-5)
    }
    Transformer.dispose(d)
  })
})
