import { describe, expect, it } from "vitest"
import * as RewardAuc from "../../src/stages/RewardAuc.ts"
import * as Sft from "../../src/stages/Sft.ts"

describe("RewardAuc.auc", () => {
  it("counts expert-above-agent pairs, ties as half, and leaves out pairs where the agent wrote the expert's action", () => {
    const a = RewardAuc.auc([1, 0, 2, 5, 3], [0, 1, 2, 9, 1], [true, true, true, false, true])
    expect(a.pairs).toBe(4)
    expect(a.auc).toBeCloseTo((1 + 0 + 0.5 + 1) / 4, 10)
  })
  it("is 0.5 for a reward that says nothing, and omitted from metrics when no pair differs", () => {
    expect(RewardAuc.auc([0, 0, 0], [0, 0, 0], [true, true, true]).auc).toBe(0.5)
    expect(RewardAuc.metrics(RewardAuc.auc([1], [0], [false]))).toEqual({ "reward/auc_pairs": 0 })
  })
})

describe("Sft.observationSpans", () => {
  it("covers every non-action target position once, in rows of at most 32", () => {
    const actions = [[10, 14], [50, 53]] as const
    const spans = Sft.observationSpans(120, actions)
    const covered = spans.flatMap(([a, b]) => Array.from({ length: b - a }, (_, k) => a + k))
    const expected = Array.from({ length: 119 }, (_, k) => k + 1).filter((p) => !actions.some(([a, b]) => p >= a && p < b))
    expect(covered).toEqual(expected)
    for (const [a, b] of spans) expect(b - a).toBeLessThanOrEqual(32)
  })
})
