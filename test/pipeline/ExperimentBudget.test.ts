import { assert, describe, it } from "@effect/vitest"
import { experiment, methods, wideSft } from "../../pipelines/experiment.ts"

type Stage = { readonly stage: string } & Readonly<Record<string, unknown>>

/**
 * The paper table's house budget (pipelines/experiment.ts): the SFT warm start is house-sft-2400-wide.ts's training, the
 * improvement methods draw on data the SFT never saw, and the evaluate stage's train episodes (train:0-99) are tasks no
 * method trains on.
 */
describe("experiment.ts, house", () => {
  it("trains its SFT warm start as wideSft('house') does (only the name, the method and the data's count differ)", () => {
    const { name: _n, method: _m, data, ...table } = experiment("house", "sft", { seed: 2 })
    const { name: _n2, method: _m2, data: wideData, ...wide } = { ...wideSft("house"), seed: 2 }
    assert.deepStrictEqual(table, wide)
    assert.deepStrictEqual({ ...data.generate, n: 0 }, { ...wideData!.generate, n: 0 })
    assert.isTrue(data.generate!.n >= wideData!.generate!.n)
  })

  it("draws every improvement method's data and tasks from the pool after the SFT's, never train:0-99", () => {
    const sft = experiment("house", "sft").stages[0] as Stage
    const sftEnd = (sft["offset"] as number) + (sft["trajectories"] as number)
    assert.strictEqual(sft["offset"], 100)
    for (const method of methods.filter((m) => m !== "sft")) {
      const p = experiment("house", method, { init: "warm" })
      const n = p.data.generate!.n
      for (const s of p.stages as ReadonlyArray<Stage>) {
        if (s.stage === "evaluate") continue
        const start = (s["poolOffset"] ?? s["offset"] ?? s["taskOffset"]) as number | undefined
        assert.isDefined(start, `${method}: ${s.stage} names where it starts`)
        assert.isTrue(start! >= sftEnd, `${method}: ${s.stage} starts at ${start}, inside the SFT's data`)
        const rounds = (s["iterations"] as number | undefined) ?? 1
        const count = ((s["trajectoriesPerIteration"] ?? s["episodesPerIteration"] ?? s["trajectories"]) as number)
        const used = s.stage === "sft" ? count : rounds * count
        assert.isTrue(start! + used <= n && n <= 5000, `${method}: ${s.stage} needs ${start! + used} of ${n} (house has 5,000 train tasks)`)
      }
    }
  })
})
