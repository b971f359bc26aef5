import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { actionTrained } from "../../src/domain/Trajectory.ts"
import * as Expert from "../../src/env/Expert.ts"
import * as Recovery from "../../src/env/Recovery.ts"
import * as Registry from "../../src/env/Registry.ts"

const sims = { house: Registry.make("house", 0), qa: Registry.make("qa", 0), shop: Registry.make("shop", 0) }
const envs = ["house", "qa", "shop"] as const

describe("expert data with recoveries", () => {
  test.prop([
    fc.constantFrom(...envs),
    fc.nat({ max: 400 }),
    fc.double({ min: 0.05, max: 1, noNaN: true }),
    fc.nat({ max: 3 }),
    fc.subarray([...Recovery.kinds], { minLength: 1 })
  ], { numRuns: 60 })(
    "the trained steps are the plain expert's, seeing the same observations after each action; only mistakes are flagged",
    (env, index, rate, seed, recoveryKinds) => {
      const sim = sims[env]
      const task = `train:${index}`
      const plain = Expert.trajectory(sim, task, { thoughts: false, seed })
      const t = Expert.trajectory(sim, task, { thoughts: false, seed, recoveries: rate, recoveryKinds })
      const kept = t.steps.map((s, i) => ({ s, i, next: t.steps[i + 1]?.observation ?? t.finalObservation })).filter(({ i }) => actionTrained(t, i))
      expect(kept.map(({ s }) => s.action)).toEqual(plain.steps.map((s) => s.action))
      // after each expert action the agent sees what the plain expert saw: the mistake changed nothing that follows
      expect(kept.map(({ next }) => next)).toEqual(plain.steps.map((_, i) => plain.steps[i + 1]?.observation ?? plain.finalObservation))
      expect([t.success, t.reward]).toEqual([plain.success, plain.reward])
      const mistakes = t.steps.filter((_, i) => !actionTrained(t, i))
      // a mistake is never the expert's next action itself
      t.steps.forEach((s, i) => {
        if (!actionTrained(t, i)) expect(s.action.trim()).not.toBe(t.steps[i + 1]!.action.trim())
      })
      expect(t.steps.length).toBe(plain.steps.length + mistakes.length)
      // the flags are AgentGym's: one per turn, the mistakes' actions false
      if (mistakes.length === 0) expect(t.turnLoss).toBeUndefined()
      else expect(t.turnLoss).toHaveLength(2 + 2 * t.steps.length + 1)
      // reproducible: a function of (task, seed, rate, kinds)
      expect(Expert.trajectory(sim, task, { thoughts: false, seed, recoveries: rate, recoveryKinds })).toEqual(t)
    }
  )

  it("inserts mistakes at about the rate asked, of the kind agents make, and none at rate 0", () => {
    for (const env of envs) {
      let expertSteps = 0
      let mistakes = 0
      for (let i = 0; i < 100; i++) {
        const t = Expert.trajectory(sims[env], `train:${i}`, { thoughts: false, seed: 0, recoveries: 0.2 })
        const m = t.steps.filter((_, k) => !actionTrained(t, k)).length
        mistakes += m
        expertSteps += t.steps.length - m
        expect(Expert.trajectory(sims[env], `train:${i}`, { thoughts: false, seed: 0, recoveries: 0 })).toEqual(Expert.trajectory(sims[env], `train:${i}`, { thoughts: false, seed: 0 }))
      }
      // a drawn mistake is kept only when the continuation replays unchanged: somewhat under the rate
      expect(mistakes / expertSteps).toBeGreaterThan(0.08)
      expect(mistakes / expertSteps).toBeLessThan(0.21)
    }
    // house's measured failure: the previous action again, mostly answered "Nothing happens." (heating, cooling or cleaning
    // twice is answered as the first time: the state is the same)
    const ts = Array.from({ length: 50 }, (_, i) => Expert.trajectory(sims.house, `train:${i}`, { thoughts: false, seed: 0, recoveries: 0.3 }))
    const repeats = ts.flatMap((t) => t.steps.flatMap((s, k) => (!actionTrained(t, k) && k > 0 && s.action === t.steps[k - 1]!.action ? [t.steps[k + 1]!.observation] : [])))
    expect(repeats.length).toBeGreaterThan(10)
    expect(repeats.filter((o) => o === "Nothing happens.").length / repeats.length).toBeGreaterThan(0.8)
  })

  it("early mistakes are later expert actions of the episode, on house mostly answered \"Nothing happens.\"; the default kinds draw as before", () => {
    const ts = Array.from({ length: 50 }, (_, i) => Expert.trajectory(sims.house, `train:${i}`, { thoughts: false, seed: 0, recoveries: 0.3, recoveryKinds: ["early"] }))
    const answers: Array<string> = []
    for (const t of ts) {
      t.steps.forEach((s, k) => {
        if (actionTrained(t, k)) return
        expect(t.steps.slice(k + 2).some((later) => later.action === s.action)).toBe(true) // an expert action that comes later
        answers.push(t.steps[k + 1]!.observation)
      })
    }
    expect(answers.length).toBeGreaterThan(30)
    expect(answers.filter((o) => o === "Nothing happens.").length / answers.length).toBeGreaterThan(0.8)
    for (let i = 0; i < 20; i++) {
      expect(Expert.trajectory(sims.house, `train:${i}`, { thoughts: false, seed: 0, recoveries: 0.3, recoveryKinds: Recovery.defaultKinds }))
        .toEqual(Expert.trajectory(sims.house, `train:${i}`, { thoughts: false, seed: 0, recoveries: 0.3 }))
    }
  })

  it("keeps the thoughts on the expert's actions and gives the mistakes none", () => {
    const t = Expert.trajectory(sims.house, "train:3", { thoughts: true, seed: 0, recoveries: 0.5 })
    const plain = Expert.trajectory(sims.house, "train:3", { thoughts: true, seed: 0 })
    expect(t.steps.filter((_, i) => actionTrained(t, i)).map((s) => s.thought)).toEqual(plain.steps.map((s) => s.thought))
    expect(t.steps.filter((_, i) => !actionTrained(t, i)).every((s) => s.thought === undefined)).toBe(true)
  })
})
