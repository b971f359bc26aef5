import { describe, expect, it } from "vitest"
import * as Reward from "../../../src/env/shop/Reward.ts"

const want: Reward.Want = {
  query: "t-shirt",
  category: ["clothing, shoes & jewelry", "clothing", "shirts", "t-shirts"],
  nouns: ["t-shirt"],
  attributes: ["cotton", "slim fit"],
  options: ["navy blue", "m"],
  priceUpper: 30
}

const item = (over: Partial<Reward.Item> = {}): Reward.Item => ({
  query: "t-shirt",
  category: want.category,
  nouns: ["t-shirt"],
  attributes: ["cotton", "slim fit", "machine wash"],
  text: Reward.words("Brand Cotton T-Shirt - Classic Style"),
  price: 24.99,
  ...over
})

describe("shop reward (WebShop's get_reward)", () => {
  it("is 1 for the right type, every attribute and option, within the price", () => {
    const b = Reward.score(item(), ["navy blue", "m"], want)
    expect(b).toEqual({ rType: 1, attributeMatches: 2, optionMatches: 2, priceOk: true, reward: 1 })
  })
  it("counts matches over attributes + options + 1", () => {
    // 1 of 2 attributes, 1 of 2 options, price ok: (1 + 1 + 1) / (2 + 2 + 1)
    expect(Reward.score(item({ attributes: ["cotton"] }), ["navy blue", "l"], want).reward).toBeCloseTo(3 / 5, 12)
    // all matches but over the price: 4 / 5
    expect(Reward.score(item({ price: 30.01 }), ["navy blue", "m"], want).reward).toBeCloseTo(4 / 5, 12)
    // the price limit is inclusive
    expect(Reward.score(item({ price: 30 }), ["navy blue", "m"], want).reward).toBe(1)
    // no option selected: (2 + 0 + 1) / 5
    expect(Reward.score(item(), [], want).reward).toBeCloseTo(3 / 5, 12)
    // nothing but the type: 0 / 5
    expect(Reward.score(item({ attributes: [], text: Reward.words("Brand T-Shirt"), price: 99 }), [], want).reward).toBe(0)
  })
  it("falls back to whole words of the title, bullets and description for attributes", () => {
    const b = Reward.score(item({ attributes: ["cotton"], text: Reward.words("Brand T-Shirt, Slim Fit") }), ["navy blue", "m"], want)
    expect(b.attributeMatches).toBe(2)
    // a substring inside a word does not count
    const c = Reward.score(item({ attributes: ["cotton"], text: Reward.words("Brand T-Shirt, Slim Fitted") }), ["navy blue", "m"], want)
    expect(c.attributeMatches).toBe(1)
  })
  it("matches option values without case or surrounding space, in any group", () => {
    expect(Reward.score(item(), [" Navy Blue ", "M"], want).optionMatches).toBe(2)
  })
  it("type reward: 0 without shared nouns, even in the same category", () => {
    const hoodie = item({ query: "hoodie", nouns: ["hoodie"], category: ["clothing, shoes & jewelry", "clothing", "sweatshirts", "hoodies"] })
    expect(Reward.typeReward(hoodie, want)).toBe(0)
    expect(Reward.score(hoodie, ["navy blue", "m"], want).reward).toBe(0)
  })
  it("type reward: 1 with over 20% of the nouns shared and a category match, 0.5 with neither query nor category", () => {
    const cakeMix: Reward.Want = { ...want, query: "cake mix", nouns: ["cake", "mix"], category: ["grocery", "baking", "cake mixes"] }
    const pancakeMix = item({ query: "pancake mix", nouns: ["pancake", "mix"], category: ["grocery", "baking", "pancake mixes"] })
    expect(Reward.typeReward(pancakeMix, cakeMix)).toBe(1) // title score 0.5 > 0.2
    const soundMixer: Reward.Want = { ...want, query: "mixer", nouns: ["mix", "a", "b", "c", "d", "e", "f", "g", "h", "i"], category: ["electronics", "audio"] }
    // title score 1/10 = 0.1: not > 0.2 and no query or category match -> 0.5
    expect(Reward.typeReward(pancakeMix, soundMixer)).toBe(0.5)
    const wide: Reward.Want = { ...soundMixer, nouns: ["mix", ...Array.from({ length: 10 }, (_, i) => `n${i}`)] }
    // title score 1/11 < 0.1 -> 0.1
    expect(Reward.typeReward(pancakeMix, wide)).toBe(0.1)
    // partial type reward scales the whole score: 0.1 * (2 + 2 + 1) / (2 + 2 + 1)
    expect(Reward.score(pancakeMix, ["navy blue", "m"], { ...wide, attributes: want.attributes }).reward).toBeCloseTo(0.1, 12)
  })
  it("type reward: a query match alone is not enough when no noun is shared", () => {
    expect(Reward.typeReward(item({ nouns: ["tee"] }), want)).toBe(0)
  })
})
