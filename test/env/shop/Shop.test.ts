import { describe, expect, it } from "vitest"
import { fc, test } from "@fast-check/vitest"
import * as Catalogue from "../../../src/env/shop/Catalogue.ts"
import * as Goal from "../../../src/env/shop/Goal.ts"
import * as Page from "../../../src/env/shop/Page.ts"
import * as Reward from "../../../src/env/shop/Reward.ts"
import * as Shop from "../../../src/env/shop/Shop.ts"
import * as Taxonomy from "../../../src/env/shop/Taxonomy.ts"
import type { Simulator } from "../../../src/env/Simulator.ts"

const sim = Shop.make({ seed: 0 })

/** Replays actions from the start of a task; the answers, in order. */
const replay = (s: Simulator, taskId: string, actions: ReadonlyArray<string>) => {
  const run = s.start(taskId)
  return { first: run.episode.observation, steps: actions.map((a) => run.step(a)) }
}

const ids = (split: "train" | "test", n: number, every = 1): Array<string> =>
  Array.from({ length: Math.ceil(n / every) }, (_, i) => `${split}:${i * every}`)

describe("shop environment", () => {
  it("has the documented sizes, name and step limit", () => {
    expect(sim.name).toBe("shop")
    expect(sim.size("train")).toBe(5000)
    expect(sim.size("test")).toBe(500)
    const run = sim.start("test:3")
    expect(run.episode.maxSteps).toBe(15)
    expect(run.episode.instruction).toBe(Shop.instruction)
    expect(run.episode.observation).toMatch(/^WebShop \[SEP\] Instruction: \[SEP\] .*, and price lower than \d+\.00 dollars \[SEP\] Search$/)
  })

  it("expert reaches reward 1 on every test task and every train task, within the step limit", () => {
    for (const id of [...ids("test", 500), ...ids("train", 5000)]) {
      const actions = sim.expert(id)
      const thoughts = sim.expertThoughts!(id)
      expect(thoughts.length).toBe(actions.length)
      expect(actions.length).toBeLessThanOrEqual(Shop.maxSteps)
      const { steps } = replay(sim, id, actions)
      const last = steps[steps.length - 1]!
      expect(steps.slice(0, -1).every((r) => !r.done && r.reward === 0 && r.observation !== Page.invalid)).toBe(true)
      if (!(last.done && last.reward === 1)) expect.fail(`${id}: ${JSON.stringify(actions)} -> ${last.observation}`)
    }
  })

  it("expert works on other seeds too", () => {
    for (const seed of [1, 12345]) {
      const s = Shop.make({ seed })
      for (const id of [...ids("test", 500, 25), ...ids("train", 5000, 250)]) {
        const { steps } = replay(s, id, s.expert(id))
        expect(steps[steps.length - 1]).toMatchObject({ done: true, reward: 1 })
      }
    }
  })

  it("the exploring expert reaches reward 1 too, and every choice it makes follows from the pages it has seen", () => {
    const explorer = Shop.make({ seed: 0, expert: "explore" })
    const price = (text: string) => Number(/price lower than (\d+\.\d+) dollars/.exec(text)![1])
    let revisits = 0
    for (const id of [...ids("test", 500, 2), ...ids("train", 5000, 20)]) {
      const actions = explorer.expert(id)
      expect(explorer.expertThoughts!(id).length).toBe(actions.length)
      expect(actions.length).toBeLessThanOrEqual(Shop.maxSteps)
      const { first, steps } = replay(explorer, id, actions)
      const last = steps[steps.length - 1]!
      if (!(last.done && last.reward === 1)) expect.fail(`${id}: ${JSON.stringify(actions)} -> ${last.observation}`)
      expect(steps.every((r) => r.observation !== Page.invalid)).toBe(true)
      const wanted = /\[SEP\] (.*) \[SEP\] Search$/.exec(first)![1]!
      const limit = price(wanted)
      actions.forEach((a, i) => {
        const seen = i === 0 ? first : steps[i - 1]!.observation
        if (/^click\[B0/.test(a)) {
          // a product clicked from the results page it is on, under the price limit shown there
          const asin = a.slice(6, -1)
          const listed = new RegExp(`\\[SEP\\] ${asin} \\[SEP\\] [^[]* \\[SEP\\] \\$(\\d+\\.\\d+)`).exec(seen)
          expect(listed, `${id} step ${i}: ${asin} not on ${seen}`).not.toBeNull()
          expect(Number(listed![1])).toBeLessThanOrEqual(limit)
        }
        if (a === "click[< Prev]") revisits++
      })
      // it goes back only from item pages, and never buys a product it went back from
      const left = actions.flatMap((a, i) => a === "click[< Prev]" ? [actions[i - 1]!] : [])
      expect(left.every((x) => /^click\[B0/.test(x))).toBe(true)
      expect(left).not.toContain(actions.filter((x) => /^click\[B0/.test(x)).at(-1))
    }
    expect(revisits).toBeGreaterThan(100) // it does explore: ~1 wrong product a task
    // the direct expert is unchanged by the option's existence
    expect(Shop.make({ seed: 0 }).expert("test:7")).toEqual(sim.expert("test:7"))
  })

  it("is deterministic: same seed and task, same observations; other seeds, other worlds", () => {
    const a = Shop.make({ seed: 7 })
    const b = Shop.make({ seed: 7 })
    for (const id of ["train:0", "train:4999", "test:0", "test:499"]) {
      const actions = [...a.expert(id), "click[Back to Search]"]
      expect(b.expert(id)).toEqual(a.expert(id))
      expect(b.expertThoughts!(id)).toEqual(a.expertThoughts!(id))
      expect(replay(b, id, actions)).toEqual(replay(a, id, actions))
      // two episodes of the same task in one simulator do not share state
      expect(replay(a, id, actions)).toEqual(replay(a, id, actions))
    }
    const c = Shop.make({ seed: 8 })
    expect(c.start("train:0").episode.observation).not.toBe(a.start("train:0").episode.observation)
    expect(Catalogue.generate(8).products.map((p) => p.title)).not.toEqual(Catalogue.generate(7).products.map((p) => p.title))
    expect(Shop.make().start("test:0").episode.observation).toBe(Shop.make({ seed: 0 }).start("test:0").episode.observation)
  })

  it("train and test are disjoint: test targets are test products and test combinations never appear in train", () => {
    for (const seed of [0, 3]) {
      const catalogue = Catalogue.generate(seed)
      const tasks = Goal.generate(seed, catalogue)
      const trainAsins = new Set(tasks.train.map((g) => g.asin))
      const trainCombos = new Set(tasks.train.map(Goal.combination))
      for (const g of tasks.test) {
        expect(catalogue.byAsin.get(g.asin)!.split).toBe("test")
        expect(trainAsins.has(g.asin)).toBe(false)
        expect(trainCombos.has(Goal.combination(g))).toBe(false)
      }
      for (const g of tasks.train) expect(catalogue.byAsin.get(g.asin)!.split).toBe("train")
      expect(new Set(tasks.test.map(Goal.combination)).size).toBe(tasks.test.length)
    }
  })

  it("generates a sound catalogue and goals", () => {
    const catalogue = Catalogue.generate(0)
    expect(catalogue.products.length).toBe(Taxonomy.types.length * Catalogue.perType)
    expect(catalogue.byAsin.size).toBe(catalogue.products.length)
    for (const p of catalogue.products) {
      expect(p.asin).toMatch(/^B0[0-9A-Z]{8}$/)
      // the text fallback never gives a product an attribute of its type that it does not have
      const own = Taxonomy.types[p.type]!.attributes.map(Taxonomy.attributeName)
      const effective = own.filter((a) => p.attributes.includes(a) || p.text.includes(Reward.words(a)))
      expect(effective.sort()).toEqual([...p.attributes].sort())
      // option values are unique within a product (a click selects one group)
      const values = p.options.flatMap((o) => o.values)
      expect(new Set(values).size).toBe(values.length)
    }
    for (const g of Goal.generate(0, catalogue).test) {
      const target = catalogue.byAsin.get(g.asin)!
      expect(Reward.score(target, g.options, g).reward).toBe(1)
      expect(g.text).toContain(`price lower than ${g.priceUpper.toFixed(2)} dollars`)
      expect(g.text).toContain(Taxonomy.types[g.type]!.noun)
      for (const o of g.options) expect(g.text).toContain(o)
    }
  })

  it("renders WebShop's pages and lists the valid actions", () => {
    const id = "test:0"
    const actions = sim.expert(id)
    const run = sim.start(id)
    expect(run.validActions()).toEqual(["search[<keywords>]"])
    const results = run.step(actions[0]!)
    expect(results.observation).toMatch(/^\[SEP\] Back to Search \[SEP\] Page 1 \(Total results: 50\) \[SEP\] Next > \[SEP\] B0[0-9A-Z]{8} \[SEP\] .+ \[SEP\] \$\d+\.\d\d/)
    const valid = run.validActions()!
    expect(valid.slice(0, 2)).toEqual(["click[Back to Search]", "click[Next >]"])
    expect(valid.length).toBe(12)
    const page2 = run.step("click[next >]")
    expect(page2.observation).toMatch(/^\[SEP\] Back to Search \[SEP\] Page 2 \(Total results: 50\) \[SEP\] < Prev \[SEP\] Next > \[SEP\] /)
    expect(run.step("click[< Prev]").observation).toBe(results.observation)
    const asin = valid[2]!.slice(6, -1)
    const item = run.step(`click[${asin.toLowerCase()}]`)
    expect(item.observation).toMatch(/^\[SEP\] Back to Search \[SEP\] < Prev \[SEP\] .* \[SEP\] Price: \$\d+\.\d\d \[SEP\] Rating: N\.A\. \[SEP\] Description \[SEP\] Features \[SEP\] Reviews \[SEP\] Buy Now$/)
    expect(run.validActions()).toContain("click[Buy Now]")
    expect(run.step("click[Features]").observation).toMatch(/^\[SEP\] Back to Search \[SEP\] < Prev \[SEP\] /)
    expect(run.validActions()).toEqual(["click[Back to Search]", "click[< Prev]"])
    expect(run.step("click[Buy Now]").observation).toBe(Page.invalid)
    expect(run.step("click[< Prev]").observation).toBe(item.observation)
    expect(run.step("search[anything]").observation).toBe(Page.invalid)
    expect(run.step("click[Back to Search]").observation).toBe(run.episode.observation)
  })

  it("partial purchases get partial reward; the step limit ends an episode with reward 0", () => {
    const id = "test:1"
    const actions = sim.expert(id)
    // the expert's product without selecting options: all but the option matches
    const noOptions = actions.filter((a) => !a.startsWith("click[") || a === "click[Buy Now]" || a === "click[Next >]" || /^click\[B0/.test(a))
    const { steps } = replay(sim, id, noOptions)
    const last = steps[steps.length - 1]!
    const g = Goal.generate(0, Catalogue.generate(0)).test[1]!
    expect(last.done).toBe(true)
    expect(last.reward).toBeCloseTo((g.attributes.length + 1) / (g.attributes.length + g.options.length + 1), 12)

    const run = sim.start(id)
    for (let i = 1; i < Shop.maxSteps; i++) expect(run.step("click[nothing]")).toEqual({ observation: Page.invalid, reward: 0, done: false })
    const end = run.step("click[nothing]")
    expect(end).toEqual({ observation: Page.invalid, reward: 0, done: true })
    expect(run.step(actions[0]!)).toEqual(end)
  })

  const junk = fc.oneof(
    fc.string({ unit: "binary" }),
    fc.string({ unit: "binary", maxLength: 20 }).map((s) => `click[${s}]`),
    fc.string({ unit: "binary", maxLength: 20 }).map((s) => `search[${s}]`),
    fc.array(fc.constantFrom("search", "click", "[", "]", " ", "Buy Now", "Next >", "< Prev", "B0", "\u0000", "\u{1F600}", "\n"), { maxLength: 12 }).map((xs) => xs.join("")),
    fc.tuple(fc.constantFrom("search[", "click[", ""), fc.string({ maxLength: 4 }), fc.integer({ min: 10_000, max: 400_000 })).map(([h, s, n]) => `${h}${(s === "" ? "x" : s).repeat(Math.ceil(n / Math.max(s.length, 1)))}]`)
  )

  test.prop([fc.constantFrom("train:0", "train:17", "test:0", "test:42"), fc.array(junk, { minLength: 1, maxLength: 20 })], { numRuns: 60 })(
    "random action strings never throw and each counts as a step",
    (id, actions) => {
      const run = sim.start(id)
      let steps = 0
      let done = false
      for (const a of actions) {
        const r = run.step(a)
        expect(typeof r.observation).toBe("string")
        expect(r.reward).toBeGreaterThanOrEqual(0)
        expect(r.reward).toBeLessThanOrEqual(1)
        if (done) continue
        steps++
        done = r.done
        if (!done) expect(r.reward).toBe(0)
        if (steps === Shop.maxSteps) expect(done).toBe(true)
      }
      if (actions.length >= Shop.maxSteps) expect(done).toBe(true)
    }
  )

  test.prop([fc.constantFrom("train:3", "test:5"), fc.array(fc.nat(), { minLength: 1, maxLength: 30 })], { numRuns: 80 })(
    "every listed valid action is accepted",
    (id, picks) => {
      const run = sim.start(id)
      for (const k of picks) {
        const valid = run.validActions()!
        if (valid.length === 0) break
        const r = run.step(valid[k % valid.length]!)
        expect(r.observation).not.toBe(Page.invalid)
        if (r.done) break
      }
    }
  )
})
