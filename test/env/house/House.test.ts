import { assert, describe, it as effectIt } from "@effect/vitest"
import { fc, test } from "@fast-check/vitest"
import { Effect } from "effect"
import { expect, it } from "vitest"
import * as TaskId from "../../../src/domain/TaskId.ts"
import * as Builtin from "../../../src/env/Builtin.ts"
import { Env } from "../../../src/env/Env.ts"
import * as Catalog from "../../../src/env/house/Catalog.ts"
import * as House from "../../../src/env/house/House.ts"
import * as Layout from "../../../src/env/house/Layout.ts"
import * as Task from "../../../src/env/house/Task.ts"
import { World } from "../../../src/env/house/World.ts"

const sim = House.make()
const universe = Task.universe(0)

const replay = (s: typeof sim, taskId: string) => {
  const ep = s.start(taskId)
  const results = s.expert(taskId).map((a) => ep.step(a))
  return { ep, results }
}

const ids = (split: "train" | "test", every: number) =>
  Array.from({ length: Math.ceil(sim.size(split) / every) }, (_, k) => `${split}:${k * every}`)

describe("house expert", () => {
  it("reaches reward 1 on every test task, and only at its last action", () => {
    for (const id of ids("test", 1)) {
      const { results } = replay(sim, id)
      expect(results.at(-1), id).toEqual(expect.objectContaining({ reward: 1, done: true }))
      expect(results.slice(0, -1).every((r) => !r.done && r.reward === 0), id).toBe(true)
      expect(results.length).toBeLessThanOrEqual(House.expertBudget)
    }
  })

  it("reaches reward 1 on a sample of train tasks", () => {
    for (const id of ids("train", 10)) {
      expect(replay(sim, id).results.at(-1), id).toEqual(expect.objectContaining({ reward: 1, done: true }))
    }
  })

  it("gives one short thought per action", () => {
    for (const id of ids("test", 25)) {
      const thoughts = sim.expertThoughts?.(id) ?? []
      expect(thoughts.length).toBe(sim.expert(id).length)
      for (const t of thoughts) expect(t.length).toBeGreaterThan(10)
    }
  })

  it("covers the six task types in both splits", () => {
    for (const split of ["train", "test"] as const) {
      const seen = new Set(ids(split, 1).slice(0, 300).map((id) => House.solve(universe, id).spec.type))
      expect([...seen].sort()).toEqual([...Task.taskTypes].sort())
    }
  })

  it("fails the task when the decisive action is left out", () => {
    const decisive = /^(clean|heat|cool|use) /
    for (const type of Task.taskTypes) {
      const id = ids("train", 1).find((i) => House.solve(universe, i).spec.type === type) ?? "train:0"
      const actions = sim.expert(id)
      const k = actions.findIndex((a) => decisive.test(a))
      const cut = k >= 0 ? k : actions.length - 1 // no transform: drop the final put
      const ep = sim.start(id)
      const results = actions.filter((_, i) => i !== cut).map((a) => ep.step(a))
      expect(results.every((r) => r.reward === 0), `${type} ${id}`).toBe(true)
    }
  })
})

describe("house splits", () => {
  const specs = (split: "train" | "test") =>
    Array.from({ length: House.sizes[split] }, (_, i) => Task.generate(universe, { split, index: i }, 0, false))
  const train = specs("train")
  const test = specs("test")
  const combo = (s: Task.Spec) => `${s.type}/${s.object}/${s.target}`

  it("share no layout and no (task type, object, target) combination", () => {
    const trainLayouts = new Set(train.map((s) => s.layout.signature))
    const trainCombos = new Set(train.map(combo))
    for (const s of test) {
      expect(trainLayouts.has(s.layout.signature), s.taskId).toBe(false)
      expect(trainCombos.has(combo(s)), s.taskId).toBe(false)
      expect(Layout.splitOf(0, s.layout.signature)).toBe("test")
    }
    expect(new Set(test.map((s) => s.layout.signature)).size).toBeGreaterThan(300)
  })

  it("never starts with the goal reached, nor with the object in a target receptacle", () => {
    for (const s of [...test, ...train.slice(0, 1000)]) {
      expect(new World(s, House.maxSteps).goalReached(), s.taskId).toBe(false)
      if (s.type === "look_at_obj_in_light") continue
      const inTarget = s.items.filter((it) => it.type === s.object && s.layout.receptacles[it.at].type === s.target)
      expect(inTarget, s.taskId).toEqual([])
      expect(s.items.filter((it) => it.type === s.object).length).toBeGreaterThanOrEqual(s.type === "pick_two_obj_and_place" ? 2 : 1)
    }
  })

  it("places objects only where their priors allow and closes openable receptacles", () => {
    for (const s of test) {
      for (const it of s.items) {
        const host = s.layout.receptacles[it.at].type
        const allowed = it.type === Catalog.lamp ? Catalog.lampHosts : Catalog.objectType.get(it.type)?.sources ?? []
        expect(allowed.some(([t]) => t === host), `${s.taskId} ${it.name} on ${host}`).toBe(true)
      }
      const w = new World(s, House.maxSteps)
      s.layout.receptacles.forEach((r, i) => expect(w.isOpen(i)).toBe(false))
    }
  })

  it("sizes and unknown ids", () => {
    expect(sim.size("train")).toBe(5000)
    expect(sim.size("test")).toBe(500)
    expect(() => sim.start("test:500")).toThrow()
    expect(() => sim.start("dev:1")).toThrow()
  })
})

describe("house determinism", () => {
  it("the same seed and task id give the same episode", () => {
    const other = House.make({ seed: 0 })
    for (const id of ["train:0", "train:4999", "test:0", "test:499", "test:123"]) {
      const a = replay(sim, id), b = replay(other, id)
      expect(b.ep.episode).toEqual(a.ep.episode)
      expect(b.results).toEqual(a.results)
      expect(other.expertThoughts?.(id)).toEqual(sim.expertThoughts?.(id))
    }
  })

  it("another seed gives other tasks", () => {
    const other = House.make({ seed: 1 })
    const same = ids("test", 10).filter((id) => other.start(id).episode.observation === sim.start(id).episode.observation)
    expect(same.length).toBeLessThan(5)
    expect(replay(other, "test:7").results.at(-1)?.reward).toBe(1)
  })
})

describe("house bad input", () => {
  const taskIds = fc.oneof(
    fc.nat({ max: House.sizes.train - 1 }).map((i) => `train:${i}`),
    fc.nat({ max: House.sizes.test - 1 }).map((i) => `test:${i}`)
  )
  const junk = fc.oneof(
    fc.string(),
    fc.string({ unit: "grapheme" }),
    fc.constantFrom("look", "inventory", "go to", "go to cabinet 99", "take", "take  from ", "put x in/on y", "open", "close fridge 9",
      "clean with", "heat apple 9 with microwave 1", "use desklamp 7", "examine", "examine nothing 1", "in/on", " from ", " with ")
  )

  test.prop([taskIds, fc.array(junk, { minLength: House.maxSteps, maxLength: House.maxSteps })], { numRuns: 60 })(
    "random action strings never throw and each counts as a step", (id, actions) => {
      const ep = sim.start(id)
      actions.forEach((a, i) => {
        const r = ep.step(a)
        expect(typeof r.observation).toBe("string")
        expect(r.reward).toBe(0)
        expect(r.done).toBe(i === House.maxSteps - 1)
      })
    })

  test.prop([taskIds, fc.array(fc.nat(), { maxLength: 60 })], { numRuns: 60 })(
    "every valid action does something, and the episode ends by the limit", (id, picks) => {
      const ep = sim.start(id)
      let steps = 0
      for (const p of picks) {
        const valid = ep.validActions() ?? []
        expect(valid).toContain("look")
        const r = ep.step(valid[p % valid.length])
        steps++
        expect(r.observation).not.toBe("Nothing happens.")
        if (r.done) {
          expect(r.reward === 1 || steps === House.maxSteps).toBe(true)
          break
        }
        expect(steps).toBeLessThan(House.maxSteps)
      }
    })

  it("validActions at the start: go to every receptacle, inventory, look", () => {
    const ep = sim.start("test:0")
    const spec = House.solve(universe, "test:0").spec
    expect(ep.validActions()).toEqual([...spec.layout.receptacles.map((r) => `go to ${r.name}`), "inventory", "look"])
  })

  it("the task id parser and the simulator agree on sizes", () => {
    expect(TaskId.parse("test:499")).toEqual({ split: "test", index: 499 })
    expect(Builtin.checkTask(sim, "test:499")).toBeUndefined()
    expect(Builtin.checkTask(sim, "test:500")?.reason).toBe("UnknownTask")
  })
})

describe("house as an Env", () => {
  effectIt.effect("reset and step through the Env service reach reward 1 with the expert", () =>
    Effect.gen(function*() {
      const env = yield* Env
      assert.strictEqual(env.name, "house")
      const session = yield* env.open
      const episode = yield* session.reset("test:3")
      assert.strictEqual(episode.instruction, House.instruction)
      assert.strictEqual(episode.maxSteps, House.maxSteps)
      assert.isTrue(episode.observation.startsWith("-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room."))
      let last = { observation: "", reward: 0, done: false }
      for (const a of sim.expert("test:3")) last = yield* session.step(a)
      assert.deepStrictEqual([last.reward, last.done], [1, true])
      yield* session.close
    }).pipe(Effect.provide(Builtin.layer(House.make()))))
})
