import { describe, expect, it } from "vitest"
import { assert, it as effectIt } from "@effect/vitest"
import { fc, test } from "@fast-check/vitest"
import { Effect } from "effect"
import * as Builtin from "../../../src/env/Builtin.ts"
import { Env } from "../../../src/env/Env.ts"
import type { StepResult } from "../../../src/env/Env.ts"
import * as Expert from "../../../src/env/Expert.ts"
import * as Answer from "../../../src/env/qa/Answer.ts"
import * as Qa from "../../../src/env/qa/Qa.ts"

// One simulator for the whole file: its worlds are built once, on first use.
const sim = Qa.make()

/** Replays actions from a fresh episode; stops at done. */
const play = (taskId: string, actions: ReadonlyArray<string>): { readonly observations: Array<string>; readonly last: StepResult | undefined } => {
  const run = sim.start(taskId)
  const observations = [run.episode.observation]
  let last: StepResult | undefined
  for (const a of actions) {
    last = run.step(a)
    observations.push(last.observation)
    if (last.done) break
  }
  return { observations, last }
}

/** Sequences of up to 4 capitalised words (the shape of every generated name) in a text. */
const nameLike = (text: string): Array<string> => {
  const words = text.split(/[^\p{L}\p{N}]+/u).filter((w) => w !== "")
  const out: Array<string> = []
  for (let i = 0; i < words.length; i++) {
    for (let n = 1; n <= 4 && i + n <= words.length; n++) out.push(words.slice(i, i + n).join(" "))
  }
  return out
}

describe("qa simulator", () => {
  it("is named qa, has ReAct's instruction and the split sizes", () => {
    expect(sim.name).toBe("qa")
    expect(sim.instruction).toContain("Search[entity]")
    expect(sim.instruction).toContain("Lookup[keyword]")
    expect(sim.instruction).toContain("Finish[answer]")
    expect(sim.size("train")).toBe(5000)
    expect(sim.size("test")).toBe(500)
  })

  it("the expert reaches reward 1 on every test task", () => {
    for (let i = 0; i < sim.size("test"); i++) {
      const { last } = play(`test:${i}`, sim.expert(`test:${i}`))
      expect(last, `test:${i}`).toEqual({ observation: "Episode finished, reward = 1", reward: 1, done: true })
    }
  })

  it("the expert reaches reward 1 on a sample of train tasks (every 7th) and its trajectories record success", () => {
    for (let i = 0; i < sim.size("train"); i += 7) {
      const t = Expert.trajectory(sim, `train:${i}`, { thoughts: true, seed: 0 })
      expect(t.success && t.reward === 1, `train:${i}`).toBe(true)
      expect(t.steps.length).toBeLessThanOrEqual(Qa.maxSteps)
      expect(t.steps.every((s) => s.thought !== undefined && s.thought.length > 0)).toBe(true)
    }
  })

  it("the expert only uses what it was shown: every non yes/no gold answer appears in an observation before finish", () => {
    for (const split of ["train", "test"] as const) {
      const { questions } = sim.built(split)
      for (let i = 0; i < questions.length; i += split === "train" ? 5 : 1) {
        const q = questions[i]!
        if (q.answer === "yes" || q.answer === "no") continue
        const { observations } = play(`${split}:${i}`, q.actions)
        expect(observations.slice(1, -1).some((o) => o.includes(q.answer)), `${split}:${i} ${q.text}`).toBe(true)
      }
    }
  })

  it("asks bridge and comparison questions, all distinct, with yes and no both as answers", () => {
    for (const split of ["train", "test"] as const) {
      const { questions } = sim.built(split)
      expect(new Set(questions.map((q) => q.text)).size).toBe(questions.length)
      const types = new Set(questions.map((q) => q.type))
      expect(types.size).toBe(16)
      const yes = questions.filter((q) => q.answer === "yes").length
      const no = questions.filter((q) => q.answer === "no").length
      expect(yes).toBeGreaterThan(0)
      expect(no).toBeGreaterThan(0)
    }
  })

  it("the test world shares no entity name with the train world, nor mentions one", () => {
    const train = sim.built("train").wiki.pages
    const test = sim.built("test").wiki.pages
    const trainTitles = new Set(train.map((p) => Answer.normalize(p.title)))
    for (const p of test) expect(trainTitles.has(Answer.normalize(p.title)), p.title).toBe(false)
    const trainExact = new Set(train.map((p) => p.title))
    for (const p of test) {
      for (const s of p.sentences) {
        for (const span of nameLike(s)) expect(trainExact.has(span), `${span} in ${p.title}`).toBe(false)
      }
    }
  })

  it("starts with the question and no valid-action list", () => {
    const run = sim.start("test:0")
    expect(run.episode.observation).toBe(`Question: ${sim.built("test").questions[0]!.text}`)
    expect(run.episode).toMatchObject({ taskId: "test:0", instruction: Qa.instruction, maxSteps: Qa.maxSteps })
    expect(run.validActions()).toBeUndefined()
  })

  it("searches by exact title, then ignoring case, else lists similar titles", () => {
    const page = sim.built("test").wiki.pages[10]!
    const run = sim.start("test:0")
    expect(run.step(`search[${page.title}]`).observation).toBe(page.sentences.slice(0, 5).join(" "))
    expect(run.step(`Search[  ${page.title.toUpperCase()} ]`).observation).toBe(page.sentences.slice(0, 5).join(" "))
    const typo = page.title.slice(0, -1)
    const miss = run.step(`search[${typo}]`).observation
    expect(miss.startsWith(`Could not find ${typo}. Similar: ['`)).toBe(true)
    expect(miss).toContain(`'${page.title}'`)
    expect(miss.endsWith("].")).toBe(true)
  })

  it("looks up sentences of the current page one by one, as WikiEnv does", () => {
    const run = sim.start("test:0")
    expect(run.step("lookup[the]").observation).toBe("No more results.") // no page yet
    const page = sim.built("test").wiki.pages.find((p) => p.sentences.length >= 6)!
    run.step(`search[${page.title}]`)
    const hits = page.sentences.filter((s) => s.toLowerCase().includes(page.title.toLowerCase()))
    for (let k = 0; k < hits.length; k++) {
      expect(run.step(`lookup[${page.title.toLowerCase()}]`).observation).toBe(`(Result ${k + 1} / ${hits.length}) ${hits[k]}`)
    }
    expect(run.step(`lookup[${page.title.toLowerCase()}]`).observation).toBe("No more results.")
  })

  it("answers think[...] and invalid actions without ending the episode", () => {
    const run = sim.start("test:1")
    expect(run.step("think[hmm]")).toEqual({ observation: "Nice thought.", reward: 0, done: false })
    expect(run.step("  jump[now] ")).toEqual({ observation: "Invalid action: jump[now]", reward: 0, done: false })
    expect(run.step("search[x")).toEqual({ observation: "Invalid action: search[x", reward: 0, done: false })
  })

  it("ends at the step limit with reward 0, and repeats the final result afterwards", () => {
    const run = sim.start("test:2")
    for (let i = 1; i < Qa.maxSteps; i++) expect(run.step("nothing").done).toBe(false)
    const last = run.step("nothing")
    expect(last).toEqual({ observation: "Invalid action: nothing", reward: 0, done: true })
    expect(run.step(`finish[${sim.built("test").questions[2]!.answer}]`)).toEqual(last)
  })

  it("rewards finish with token F1 against the gold answer", () => {
    const questions = sim.built("test").questions
    const index = questions.findIndex((x) => x.answer.split(" ").length === 2 && !x.answer.startsWith("The "))
    const q = questions[index]!
    // one of two gold tokens: precision 1, recall 1/2, F1 2/3
    const r = sim.start(`test:${index}`).step(`finish[${q.answer.split(" ")[0]}]`)
    expect(r.done).toBe(true)
    expect(r.reward).toBeCloseTo(2 / 3, 12)
    expect(r.observation).toBe(`Episode finished, reward = ${2 / 3}`)
  })

  it("throws on an unknown task id (callers check first)", () => {
    expect(() => sim.start("test:500")).toThrow()
    expect(() => sim.expert("dev:0")).toThrow()
  })

  it("is deterministic: the same seed gives the same episodes, another seed another world", () => {
    const again = Qa.make({ seed: 0 })
    const other = Qa.make({ seed: 1 })
    for (const id of ["test:0", "test:123", "train:0", "train:4999"]) {
      expect(again.expert(id)).toEqual(sim.expert(id))
      expect(again.expertThoughts!(id)).toEqual(sim.expertThoughts!(id))
      expect(again.start(id).episode).toEqual(sim.start(id).episode)
      const a = again.start(id)
      const b = sim.start(id)
      for (const action of [...sim.expert(id).slice(0, -1), "search[Nowhere]", "lookup[in]"]) expect(a.step(action)).toEqual(b.step(action))
    }
    expect(other.start("test:0").episode.observation).not.toBe(sim.start("test:0").episode.observation)
    expect(other.built("test").wiki.pages.map((p) => p.title)).not.toEqual(sim.built("test").wiki.pages.map((p) => p.title))
  })
})

const action = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.tuple(fc.constantFrom("search[", "lookup[", "finish[", "think[", "Search[", "LOOKUP[", "search", "[", ""), fc.string(), fc.constantFrom("]", "", "]]", "[")).map(([a, b, c]) => a + b + c),
  fc.constantFrom("search[]", "lookup[]", "finish[]", "search[ ]", "\n", "]", "[]")
)

describe("qa under arbitrary actions", () => {
  test.prop([fc.nat({ max: 499 }), fc.array(action, { minLength: 1, maxLength: 12 })])(
    "never throws; every action counts as a step until finish or the step limit",
    (index, actions) => {
      const run = sim.start(`test:${index}`)
      let done = false
      let final: StepResult | undefined
      for (let i = 0; i < actions.length; i++) {
        const r = run.step(actions[i]!)
        expect(typeof r.observation).toBe("string")
        if (done) {
          expect(r).toEqual(final)
          continue
        }
        const finished = /^finish\[[\s\S]*\]$/.test(actions[i]!.trim().replace(/^F/, "f"))
        expect(r.done).toBe(finished || i + 1 === Qa.maxSteps)
        if (!r.done) expect(r.reward).toBe(0)
        expect(r.reward).toBeGreaterThanOrEqual(0)
        expect(r.reward).toBeLessThanOrEqual(1)
        if (r.done) {
          done = true
          final = r
        }
      }
    }
  )
})

describe("qa as an Env service", () => {
  effectIt.effect("replays the expert through Builtin.layer", () =>
    Effect.gen(function*() {
      const env = yield* Env
      const session = yield* env.open
      const episode = yield* session.reset("test:42")
      assert.strictEqual(episode.observation.startsWith("Question: "), true)
      let last: StepResult | undefined
      for (const a of sim.expert("test:42")) last = yield* session.step(a)
      assert.deepStrictEqual(last, { observation: "Episode finished, reward = 1", reward: 1, done: true })
      const bad = yield* Effect.flip(session.reset("test:500"))
      assert.strictEqual(bad.reason, "UnknownTask")
    }).pipe(Effect.provide(Builtin.layer(sim))))
})
