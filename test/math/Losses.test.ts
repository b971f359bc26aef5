import * as tf from "@tensorflow/tfjs"
import * as fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import * as Dpo from "../../src/math/Dpo.ts"
import * as Gail from "../../src/math/Gail.ts"
import * as Ppo from "../../src/math/Ppo.ts"

beforeAll(async () => {
  await tf.setBackend("cpu")
})

const num = (t: tf.Tensor): number => t.dataSync()[0]!
const t2 = (rows: Array<Array<number>>) => tf.tensor2d(rows)

describe("Ppo.policyLoss", () => {
  it("takes the clipped branch when the ratio leaves the trust region in the advantage's direction", () => {
    // token 0: ratio e^0.5 = 1.6487 > 1.2, A = +1 -> clipped: -1.2 ; token 1: ratio e^-0.5 = 0.6065, A = +2 -> unclipped -1.2131
    // token 2: masked out
    const logp = t2([[0.5, -0.5, 7]])
    const old = t2([[0, 0, 0]])
    const adv = t2([[1, 2, 5]])
    const mask = t2([[1, 1, 0]])
    const r = Ppo.policyLoss(logp, old, adv, mask, 0.2)
    const expected = (-1.2 + -2 * Math.exp(-0.5)) / 2
    expect(num(r.loss)).toBeCloseTo(expected, 5)
    expect(num(r.clipfrac)).toBeCloseTo(0.5, 6)
    expect(num(r.approxkl)).toBeCloseTo(0.5 * (0.25 + 0.25) / 2, 6)
  })
  it("equals -A at ratio 1", () => {
    const r = Ppo.policyLoss(t2([[0.3]]), t2([[0.3]]), t2([[2]]), t2([[1]]), 0.2)
    expect(num(r.loss)).toBeCloseTo(-2, 6)
    expect(num(r.clipfrac)).toBe(0)
  })
  it("negative advantage: ratio below 1 - eps is clipped", () => {
    // ratio e^-1 = 0.3679, A = -1: pg1 = 0.3679, pg2 = 0.8 -> max = 0.8 (clipped)
    const r = Ppo.policyLoss(t2([[-1]]), t2([[0]]), t2([[-1]]), t2([[1]]), 0.2)
    expect(num(r.loss)).toBeCloseTo(0.8, 5)
    expect(num(r.clipfrac)).toBe(1)
  })
})

describe("Ppo.valueLoss", () => {
  it("uses the larger of the clipped and unclipped errors", () => {
    // V = 1.0, oldV = 0.5, R = 2 -> vf1 = 1, clipped V = 0.7 -> vf2 = 1.69 -> 0.5 * 1.69
    const r = Ppo.valueLoss(t2([[1.0]]), t2([[0.5]]), t2([[2]]), t2([[1]]), 0.2)
    expect(num(r.loss)).toBeCloseTo(0.845, 5)
    expect(num(r.clipfrac)).toBe(1)
    // inside the clip range: plain squared error
    const s = Ppo.valueLoss(t2([[0.6]]), t2([[0.5]]), t2([[1]]), t2([[1]]), 0.2)
    expect(num(s.loss)).toBeCloseTo(0.5 * 0.16, 5)
  })
})

describe("Ppo.entropy", () => {
  it("is log V for uniform logits and 0 for a one-hot distribution", () => {
    const uniform = tf.zeros([1, 1, 4]) as tf.Tensor3D
    expect(num(Ppo.entropy(uniform, t2([[1]])))).toBeCloseTo(Math.log(4), 5)
    const peaked = tf.tensor3d([[[100, 0, 0, 0]]])
    expect(num(Ppo.entropy(peaked, t2([[1]])))).toBeCloseTo(0, 4)
  })
})

describe("Ppo.tokenRewards", () => {
  it("puts the KL penalty on every action token and the step reward on the last one", () => {
    const { rewards, kl } = Ppo.tokenRewards(
      new Float32Array([-1, -2, 0]), new Float32Array([-1.5, -2, 0]), new Float32Array([1, 1, 0]),
      new Float32Array([3]), 1, 3, 0.1
    )
    expect(kl[0]).toBeCloseTo(0.5, 6)
    expect(rewards[0]).toBeCloseTo(-0.05, 6)
    expect(rewards[1]).toBeCloseTo(3, 6)
    expect(rewards[2]).toBe(0)
  })
})

describe("Dpo", () => {
  it("loss, accuracy and margin on known log-probabilities", () => {
    // pair 0: chosen +1 vs ref, rejected -1 vs ref -> h = 0.1 * 2 = 0.2
    // pair 1: chosen -0.5, rejected +0.5 -> h = -0.1
    const r = Dpo.loss(tf.tensor1d([-1, -3]), tf.tensor1d([-4, -2.5]), tf.tensor1d([-2, -2.5]), tf.tensor1d([-3, -3]), 0.1)
    const sp = (x: number) => Math.log1p(Math.exp(x))
    expect(num(r.loss)).toBeCloseTo((sp(-0.2) + sp(0.1)) / 2, 5)
    expect(num(r.accuracy)).toBeCloseTo(0.5, 6)
    expect(num(r.margin)).toBeCloseTo(0.05, 5)
    expect(Array.from(r.chosenReward.dataSync())).toEqual([expect.closeTo(0.1, 5), expect.closeTo(-0.05, 5)])
  })
  it("implicit reward is beta times the log-ratio", () => {
    expect(Array.from(Dpo.implicitReward(tf.tensor1d([-1, -2]), tf.tensor1d([-3, -1]), 0.5).dataSync())).toEqual([1, -0.5])
  })
})

describe("Gail", () => {
  it("loss, accuracy and probabilities on known logits", () => {
    const r = Gail.discriminatorLoss(tf.tensor1d([2, -1]), tf.tensor1d([-3]))
    const sp = (x: number) => Math.log1p(Math.exp(x))
    expect(num(r.loss)).toBeCloseTo((sp(-2) + sp(1)) / 2 + sp(-3), 5)
    expect(num(r.accuracy)).toBeCloseTo(2 / 3, 5)
    const sig = (x: number) => 1 / (1 + Math.exp(-x))
    expect(num(r.agentProb)).toBeCloseTo((sig(2) + sig(-1)) / 2, 5)
    expect(num(r.expertProb)).toBeCloseTo(sig(-3), 5)
  })
  it("reward is -log D and is larger where D takes the pair for the expert", () => {
    const r = Array.from(Gail.reward(tf.tensor1d([-2, 0, 2])).dataSync())
    expect(r[1]).toBeCloseTo(Math.log(2), 5)
    expect(r[0]!).toBeGreaterThan(r[1]!)
    expect(r[1]!).toBeGreaterThan(r[2]!)
    expect(r[0]).toBeCloseTo(-Math.log(1 / (1 + Math.exp(2))), 5)
  })
})

describe("Ppo.spareLeading", () => {
  it("zeroes the negative advantages of each row's leading spared tokens only, and counts them", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 7 }),
      fc.infiniteStream(fc.float({ min: -3, max: 3, noNaN: true })),
      fc.infiniteStream(fc.integer({ min: 0, max: 9 })),
      (batch, time, values, spares) => {
        const adv = Float32Array.from({ length: batch * time }, () => values.next().value)
        const spared = Array.from({ length: batch }, () => spares.next().value)
        const r = Ppo.spareLeading(adv, spared, batch, time)
        let zeroed = 0
        for (let b = 0; b < batch; b++) {
          for (let t = 0; t < time; t++) {
            const i = b * time + t
            const expected = t < spared[b]! && adv[i]! < 0 ? 0 : adv[i]!
            if (t < spared[b]! && adv[i]! < 0) zeroed++
            expect(r.advantages[i]).toBe(expected)
          }
        }
        expect(r.zeroed).toBe(zeroed)
        expect(r.advantages).not.toBe(adv) // a new array: the input is left as it was
      }
    ))
  })
})
