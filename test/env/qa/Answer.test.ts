import { describe, expect, it } from "vitest"
import { fc, test } from "@fast-check/vitest"
import * as Answer from "../../../src/env/qa/Answer.ts"

describe("Answer.normalize (HotpotQA)", () => {
  it("lowercases, drops punctuation and articles, collapses spaces", () => {
    expect(Answer.normalize("The  Silent River!")).toBe("silent river")
    expect(Answer.normalize("1,234,000")).toBe("1234000")
    expect(Answer.normalize("An apple, a pear and THE plum.")).toBe("apple pear and plum")
    expect(Answer.normalize("theatre")).toBe("theatre") // articles only as whole words
    expect(Answer.normalize("  ")).toBe("")
  })
})

describe("Answer.f1 and exactMatch", () => {
  it("match hand-computed cases", () => {
    expect(Answer.f1("Nafethek", "Nafethek")).toBe(1)
    expect(Answer.f1("the Silent River", "Silent River")).toBe(1)
    // prediction "silent river delta" vs gold "silent river": p = 2/3, r = 1, f1 = 0.8
    expect(Answer.f1("Silent River delta", "The Silent River")).toBeCloseTo(0.8, 12)
    // "brakai" vs "brakai kriveti": p = 1, r = 1/2, f1 = 2/3
    expect(Answer.f1("Brakai", "Brakai Kriveti")).toBeCloseTo(2 / 3, 12)
    // a repeated token counts as often as the gold has it: "x b b" vs "b c": common 1, p = 1/3, r = 1/2, f1 = 0.4
    expect(Answer.f1("x b b", "b c")).toBeCloseTo(0.4, 12)
  })
  it("scores yes/no/noanswer all or nothing", () => {
    expect(Answer.f1("yes", "yes")).toBe(1)
    expect(Answer.f1("yes indeed", "yes")).toBe(0)
    expect(Answer.f1("no", "no way")).toBe(0)
    expect(Answer.f1("No.", "no")).toBe(1)
  })
  it("gives 0 with nothing in common or an empty answer", () => {
    expect(Answer.f1("", "1843")).toBe(0)
    expect(Answer.f1("1844", "1843")).toBe(0)
  })
  it("exact match is equality after normalisation (F1 1 allows reordering, exact match does not)", () => {
    expect(Answer.exactMatch("the 1,234,000", "1234000")).toBe(true)
    expect(Answer.exactMatch("Kriveti Brakai", "Brakai Kriveti")).toBe(false)
    expect(Answer.f1("Kriveti Brakai", "Brakai Kriveti")).toBe(1)
  })
  test.prop([fc.string(), fc.string()])("F1 lies in [0, 1], is symmetric, and exact match implies 1", (a, b) => {
    const f = Answer.f1(a, b)
    expect(f).toBeGreaterThanOrEqual(0)
    expect(f).toBeLessThanOrEqual(1)
    expect(Answer.f1(b, a)).toBeCloseTo(f, 12)
    if (Answer.exactMatch(a, b) && Answer.normalize(a) !== "") expect(f).toBe(1)
  })
})
