import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { actionTrained } from "../../src/domain/Trajectory.ts"
import * as House from "../../src/env/house/House.ts"
import * as Qa from "../../src/env/qa/Qa.ts"
import * as Relabel from "../../src/env/Relabel.ts"
import * as Shop from "../../src/env/shop/Shop.ts"

const sim = House.make()
const shop = Shop.make({ expert: "explore" })

/** An agent that follows the expert but for `wrong` (state index -> its action there), as a policy that errs. */
const erring = (taskId: string, wrong: ReadonlyMap<number, string>, steps: number): Array<string> => {
  const out: Array<string> = []
  for (let t = 0; t < steps; t++) {
    const a = wrong.get(t) ?? sim.expertAfter!(taskId, out)
    if (a === undefined) break
    out.push(a)
  }
  return out
}

describe("DAgger relabelling (Relabel)", () => {
  it("gives nothing for the expert's own actions: no state is off its path", () => {
    for (let i = 0; i < 50; i++) expect(Relabel.relabel(sim, `train:${i}`, sim.expert(`train:${i}`), { cuts: 3, id: "x" })).toEqual([])
  })

  it("cuts only off the expert's path where the agent disagrees, the first ones", () => {
    const actions = ["a", "b", "c", "d", "e"]
    expect(Relabel.cuts(actions, ["a", "x", "y", "d", "z"], 5)).toEqual([2, 4]) // 1 is on the path (nothing wrong before it)
    expect(Relabel.cuts(actions, ["a", "x", "y", "d", "z"], 1)).toEqual([2])
    expect(Relabel.cuts(actions, ["x", undefined, "y", "d", "e"], 5)).toEqual([2]) // no label: no cut
  })

  test.prop([fc.nat({ max: 4999 }), fc.array(fc.tuple(fc.nat({ max: 8 }), fc.constantFrom("look", "inventory", "go to garbagecan 1", "open fridge 1", "take apple 1 from countertop 1")), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 3 })], { numRuns: 60 })(
    "each trajectory is the agent's actions to a cut, then the expert's; targets where the expert agrees; replayed observations",
    (index, mistakes, maxCuts) => {
      const id = `train:${index}`
      const actions = erring(id, new Map(mistakes), 14)
      const labels = Relabel.labels(sim, id, actions)
      const cuts = Relabel.cuts(actions, labels, maxCuts)
      const out = Relabel.relabel(sim, id, actions, { cuts: maxCuts, id: "r" })
      expect(out.map((t) => t.id)).toEqual(cuts.map((c) => `r-cut${c}`))
      out.forEach((t, k) => {
        const c = cuts[k]!
        const acts = t.steps.map((s) => s.action)
        expect(acts.slice(0, c)).toEqual(actions.slice(0, c))
        expect(acts[c]).toBe(labels[c])
        acts.forEach((a, i) => expect(actionTrained(t, i)).toBe(i >= c || a.trim() === labels[i]))
        // the observations are the environment's answers to these actions
        const ep = sim.start(id)
        let obs = ep.episode.observation
        t.steps.forEach((s) => {
          expect(s.observation).toBe(obs)
          obs = ep.step(s.action).observation
        })
        expect(t.finalObservation).toBe(obs)
        expect(t.success).toBe(true) // the house expert finishes from these states
        expect(t.source).toBe("relabelled:house")
      })
    }
  )

  test.prop([fc.nat({ max: 4999 }), fc.array(fc.tuple(fc.nat({ max: 6 }), fc.constantFrom("click[< Prev]", "click[Back to Search]", "click[Next >]", "click[Description]", "search[socks]", "click[Buy Now]")), { minLength: 1, maxLength: 3 })], { numRuns: 60 })(
    "shop: the relabelled trajectories replay to a purchase of reward 1, unless the agent's steps left too few",
    (index, mistakes) => {
      const id = `train:${index}`
      const wrong = new Map(mistakes)
      const actions: Array<string> = []
      for (let t = 0; t < Shop.maxSteps; t++) {
        const a = wrong.get(t) ?? shop.expertAfter!(id, actions)
        if (a === undefined) break
        actions.push(a)
      }
      for (const t of Relabel.relabel(shop, id, actions, { cuts: 2, id: "s" })) {
        expect(t.source).toBe("relabelled:shop")
        expect(t.success || t.steps.length === Shop.maxSteps).toBe(true)
        if (t.success) expect(t.steps.at(-1)!.action).toBe("click[Buy Now]")
      }
    }
  )

  it("refuses an environment whose expert cannot act from any state, with its name", () => {
    expect(() => Relabel.relabel(Qa.make(), "train:0", ["search[x]"], { cuts: 1, id: "q" })).toThrow(/qa: the expert cannot act from any state/)
  })
})
