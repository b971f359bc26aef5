import { describe, expect, it } from "vitest"
import * as Gae from "../../src/math/Gae.ts"
import * as Whiten from "../../src/math/Whiten.ts"

describe("Gae.compute", () => {
  it("matches a hand computation (gamma 1, lambda 0.5) and ignores padding", () => {
    // one row of 3 action tokens then 1 padding token
    const rewards = new Float32Array([0.1, -0.2, 1, 99])
    const values = new Float32Array([0.5, 0.4, 0.3, 99])
    const mask = new Float32Array([1, 1, 1, 0])
    const { advantages, returns } = Gae.compute(rewards, values, mask, 1, 4, 1, 0.5)
    // t=2: delta = 1 + 0 - 0.3 = 0.7; A2 = 0.7
    // t=1: delta = -0.2 + 0.3 - 0.4 = -0.3; A1 = -0.3 + 0.5 * 0.7 = 0.05
    // t=0: delta = 0.1 + 0.4 - 0.5 = 0; A0 = 0 + 0.5 * 0.05 = 0.025
    expect(advantages[0]).toBeCloseTo(0.025, 6)
    expect(advantages[1]).toBeCloseTo(0.05, 6)
    expect(advantages[2]).toBeCloseTo(0.7, 6)
    expect(advantages[3]).toBe(0)
    expect(returns[0]).toBeCloseTo(0.525, 6)
    expect(returns[2]).toBeCloseTo(1.0, 6)
    expect(returns[3]).toBe(0)
  })
  it("with lambda 1 and gamma 1 the return is the reward-to-go", () => {
    const rewards = new Float32Array([1, 2, 3, 0, 0, 5])
    const values = new Float32Array([9, 8, 7, 0, 0, 1])
    const mask = new Float32Array([1, 1, 1, 0, 0, 1])
    const { returns } = Gae.compute(rewards, values, mask, 2, 3, 1, 1)
    expect(Array.from(returns)).toEqual([6, 5, 3, 0, 0, 5])
  })
  it("discounts with gamma", () => {
    const { returns } = Gae.compute(new Float32Array([0, 1]), new Float32Array([0, 0]), new Float32Array([1, 1]), 1, 2, 0.9, 1)
    expect(returns[0]).toBeCloseTo(0.9, 6)
  })
})

describe("Whiten.masked", () => {
  it("gives zero mean and unit (unbiased) variance over the mask", () => {
    const x = new Float32Array([1, 2, 3, 100])
    const mask = new Float32Array([1, 1, 1, 0])
    const w = Whiten.masked(x, mask)
    expect(w[0]).toBeCloseTo(-1, 4)
    expect(w[1]).toBeCloseTo(0, 6)
    expect(w[2]).toBeCloseTo(1, 4)
    expect(w[3]).toBe(0)
    expect(Whiten.maskedMean(x, mask)).toBeCloseTo(2, 6)
  })
})
