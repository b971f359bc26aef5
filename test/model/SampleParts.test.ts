import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import type * as Tokenized from "../../src/domain/Tokenized.ts"
import * as SampleParts from "../../src/model/SampleParts.ts"

/** Stand-ins for trajectories: only their identity matters to the plan. */
const trajectories = (counts: ReadonlyArray<number>) =>
  counts.flatMap((n, i) => Array.from({ length: n }, () => ({ id: `t${i}` }))).map((t, _, all) => all.find((u) => u.id === t.id)!) as unknown as Array<Tokenized.TokenizedTrajectory>

describe("SampleParts.plan", () => {
  test.prop([fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 12 }), fc.integer({ min: 1, max: 4 })])(
    "cuts the states into min(parts, trajectories) consecutive runs of whole trajectories",
    (counts, parts) => {
      const ts = trajectories(counts)
      const plan = SampleParts.plan(ts, parts)
      expect(plan.flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i))).toEqual(ts.map((_, i) => i))
      expect(plan.every(([a, b]) => b > a)).toBe(true)
      expect(plan.length).toBe(Math.min(parts, counts.length))
      for (const [a] of plan) if (a > 0) expect(ts[a]).not.toBe(ts[a - 1]) // never inside a trajectory
    }
  )

  it("cuts at the trajectory boundary nearest the even split", () => {
    // 21 qa trajectories of 3 states: 63 states; the boundaries nearest 31.5 are 30 and 33, equally near: the earlier
    const plan = SampleParts.plan(trajectories(Array.from({ length: 21 }, () => 3)), 2)
    expect(plan).toEqual([[0, 30], [30, 63]])
    expect(SampleParts.plan(trajectories([10, 1, 1]), 2)).toEqual([[0, 10], [10, 12]])
  })
})
