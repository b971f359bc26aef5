import { beforeAll, describe, expect, it } from "vitest"
import { BYTE_OFFSET, EOA } from "../../src/data/Tokenizer.ts"
import * as ActionBatch from "../../src/model/ActionBatch.ts"
import * as Discriminator from "../../src/model/Discriminator.ts"
import * as DiscriminatorPass from "../../src/model/DiscriminatorPass.ts"
import * as Optimizer from "../../src/model/Optimizer.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Fixtures from "./Fixtures.ts"

beforeAll(Fixtures.wasm)

/** Pairs at the expert's states whose actions are bytes from [lo, lo + 40): two easy-to-tell distributions. */
const sequences = (seed: number, n: number, lo: number, ctx: number): Array<ActionBatch.Sequence> => {
  const rng = Rng.make(seed)
  const seqs = Array.from({ length: n }, (_, i) => {
    const t = Fixtures.trajectory(seed * 100 + i, 2)
    const len = 1 + Math.floor(Rng.uniform(rng) * 3)
    const action = Int32Array.from([...Array.from({ length: len }, () => BYTE_OFFSET + lo + Math.floor(Rng.uniform(rng) * 40)), EOA])
    return Score.segmentSequence(ctx, { trajectory: t, step: 1, action }).sequence
  })
  return seqs
}
const pairs = (seed: number, n: number, lo: number, ctx: number): ActionBatch.ActionBatch => ActionBatch.build(sequences(seed, n, lo, ctx))

describe("Discriminator", () => {
  it("learns to separate agent pairs (D -> 1) from expert pairs (D -> 0)", () => {
    const policyConfig = Fixtures.tinyConfig()
    const c = Discriminator.config(policyConfig, { dModel: 32, layers: 1 })
    const d = Discriminator.init(c, 3)
    expect(c.vocabSize).toBe(policyConfig.vocabSize)
    const opt = Optimizer.make(Transformer.named(d.weights), { learningRate: 1e-2 })
    let last: Discriminator.TrainStats | undefined
    for (let i = 0; i < 30; i++) {
      last = DiscriminatorPass.train(d, opt, [Discriminator.labelled(sequences(1 + i, 8, 200, c.contextLength), sequences(1000 + i, 8, 0, c.contextLength))])
    }
    expect(last!.loss).toBeLessThan(0.3)
    const agentP = Discriminator.probabilities(d, pairs(7777, 16, 200, c.contextLength))
    const expertP = Discriminator.probabilities(d, pairs(8888, 16, 0, c.contextLength))
    expect(Math.min(...agentP)).toBeGreaterThan(0.5)
    expect(Math.max(...expertP)).toBeLessThan(0.5)
    // GAIL reward -log D: higher for expert-like actions
    const rAgent = Discriminator.rewards(d, pairs(7777, 16, 200, c.contextLength))
    const rExpert = Discriminator.rewards(d, pairs(8888, 16, 0, c.contextLength))
    expect(Math.min(...rExpert)).toBeGreaterThan(Math.max(...rAgent))
    rAgent.forEach((r, i) => expect(r).toBeCloseTo(-Math.log(agentP[i]!), 4))
    Optimizer.dispose(opt)
    Transformer.dispose(d)
  })
})
