import { describe, expect, it } from "vitest"
import { fc, test } from "@fast-check/vitest"
import { Result } from "effect"
import * as Conversation from "../../src/data/Conversation.ts"
import * as Step from "../../src/domain/Step.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"

// Turn text as real data has it: newlines, quotes, "Thought:"/"Action:" fragments, non-ASCII, spaces at the ends.
const text = fc.string({
  unit: fc.oneof(fc.constantFrom("\n", " ", "\"", "Thought:", "Action:", "é", "😀", "[SEP]"), fc.string({ unit: "grapheme", maxLength: 1 })),
  maxLength: 10
})
const action = fc.string({ unit: fc.oneof(fc.constantFrom("search[", "]", "click", " ", "é"), fc.string({ unit: "grapheme-ascii", maxLength: 1 })), minLength: 1, maxLength: 8 })
  .filter((a) => a.trim() !== "")
const assistant = fc.oneof(
  fc.tuple(text, action).map(([t, a]) => `Thought: ${t}\nAction: ${a}`),
  fc.tuple(text, action).map(([t, a]) => `Thought:\n${t}\n\nAction:\n${a}`), // AgentGym's layout
  action,
  text
).filter((s) => Step.parseAssistantTurn(s).action !== "")

const loss = fc.oneof(fc.boolean(), fc.constant(null))

/** A valid conversation: prompt, ack, then (observation, action) pairs, maybe a final observation. */
const turns = (withLoss: boolean) =>
  fc.record({
    prompt: text,
    ack: fc.oneof(fc.constantFrom("OK", "Ok.", "OK."), text),
    steps: fc.array(fc.tuple(text, assistant), { minLength: 1, maxLength: 5 }),
    last: fc.option(text, { nil: undefined })
  }).chain(({ prompt, ack, steps, last }) => {
    const plain: Array<Conversation.Turn> = [{ from: "human", value: prompt }, { from: "gpt", value: ack }]
    for (const [o, a] of steps) plain.push({ from: "human", value: o }, { from: "gpt", value: a })
    if (last !== undefined) plain.push({ from: "human", value: last })
    if (!withLoss) return fc.constant(plain)
    return fc.array(loss, { minLength: plain.length, maxLength: plain.length })
      .map((flags) => plain.map((t, i) => ({ from: t.from, loss: flags[i]!, value: t.value })))
  })

const meta: Conversation.Meta = { id: "webshop_7", env: "webshop", reward: 0.5, success: false, source: "eto" }

const ok = (r: Result.Result<Trajectory, string>): Trajectory => {
  if (Result.isFailure(r)) throw new Error(`expected a trajectory, got: ${r.failure}`)
  return r.success
}
const reason = (r: Result.Result<unknown, string>): string => (Result.isFailure(r) ? r.failure : "decoded")

describe("Conversation", () => {
  it("maps prompt, acknowledgement, steps and a final observation", () => {
    const t = ok(Conversation.toTrajectory([
      { from: "human", value: "You are web shopping." },
      { from: "gpt", value: "OK" },
      { from: "human", value: "Instruction: a red mug [Search]" },
      { from: "gpt", value: "Thought: search first\nAction: search[red mug]" },
      { from: "human", value: "results..." },
      { from: "gpt", value: "click[B01]" },
      { from: "human", value: "Thank you" }
    ], meta))
    expect(t).toEqual({
      id: "webshop_7",
      env: "webshop",
      taskId: "webshop_7",
      instruction: "You are web shopping.",
      ack: "OK",
      steps: [
        { observation: "Instruction: a red mug [Search]", thought: "search first", action: "search[red mug]" },
        { observation: "results...", action: "click[B01]" }
      ],
      finalObservation: "Thank you",
      reward: 0.5,
      success: false,
      source: "eto"
    })
  })

  test.prop([turns(false)], { seed: 11, numRuns: 300 })("conversation -> trajectory -> conversation is the identity", (ts) => {
    const t = ok(Conversation.toTrajectory(ts, meta))
    expect(t.steps.length).toBe(Math.floor((ts.length - 2) / 2))
    expect(t.finalObservation !== undefined).toBe(ts.length % 2 === 1)
    expect(t.turnLoss).toBeUndefined()
    expect(Conversation.toTurns(t, "unused", false)).toEqual(ts)
  })

  test.prop([turns(true)], { seed: 12, numRuns: 300 })("AgentGym loss flags survive the round trip", (ts) => {
    const t = ok(Conversation.toTrajectory(ts, meta))
    expect(t.turnLoss).toEqual(ts.map((x) => x.loss))
    expect(Conversation.toTurns(t, "unused", true)).toEqual(ts)
  })

  it("writes AgentGym's default flags, and a default ack, when a trajectory has none", () => {
    const t: Trajectory = {
      id: "x", env: "shop", taskId: "train:0", instruction: "p", steps: [{ observation: "o", action: "a" }], reward: 1, success: true, source: "generated:shop"
    }
    expect(Conversation.toTurns(t, "Ok.", true)).toEqual([
      { from: "human", loss: null, value: "p" },
      { from: "gpt", loss: false, value: "Ok." },
      { from: "human", loss: null, value: "o" },
      { from: "gpt", loss: true, value: "a" }
    ])
  })

  test.prop([turns(false), fc.nat()], { seed: 13, numRuns: 200 })("a turn with the wrong role is named, by its index", (ts, at) => {
    const i = at % ts.length
    const flipped = ts.map((t, j) => (j === i ? { from: t.from === "human" ? "gpt" as const : "human" as const, value: t.value } : t))
    expect(reason(Conversation.toTrajectory(flipped, meta))).toBe(`turn ${i}: expected from ${Conversation.expectedRole(i)}, got ${flipped[i]!.from}`)
  })

  test.prop([turns(false), fc.nat(), fc.constantFrom("", "   ", "\n", "Thought: hmm\nAction: ", "Thought: x\nAction:\n  ")], { seed: 14, numRuns: 200 })(
    "an empty action is rejected with its turn",
    (ts, at, empty) => {
      const actions = ts.map((_, j) => j).filter((j) => j >= 3 && j % 2 === 1)
      const i = actions[at % actions.length]!
      const broken = ts.map((t, j) => (j === i ? { from: t.from, value: empty } : t))
      expect(reason(Conversation.toTrajectory(broken, meta))).toBe(`empty action at turn ${i}`)
    }
  )

  it("rejects conversations too short to hold a step", () => {
    expect(reason(Conversation.toTrajectory([], meta))).toBe("conversations is empty")
    expect(reason(Conversation.toTrajectory([{ from: "human", value: "p" }], meta))).toBe(
      "conversation has 1 turn; needs at least 4 (prompt, acknowledgement, observation, action)"
    )
    expect(reason(Conversation.toTrajectory([{ from: "human", value: "p" }, { from: "gpt", value: "OK" }, { from: "human", value: "o" }], meta)))
      .toMatch(/^conversation has 3 turns/)
  })

  it("names the turn and field of a malformed turn", () => {
    const cases: Array<[unknown, string]> = [
      ["x", "conversations must be an array, got string"],
      [{}, "conversations must be an array, got object"],
      [[null], "turn 0: expected an object, got null"],
      [[{ value: "v" }], "turn 0: missing field from"],
      [[{ from: 1, value: "v" }], "turn 0: from must be a string, got number"],
      [[{ from: "user", value: "v" }], "turn 0: from must be \"human\" or \"gpt\", got \"user\""],
      [[{ from: "human" }], "turn 0: missing field value"],
      [[{ from: "human", value: "p" }, { from: "gpt", value: ["a"] }], "turn 1: value must be a string, got array"],
      [[{ from: "human", value: "p", loss: "yes" }], "turn 0: loss must be a boolean or null, got string"]
    ]
    for (const [value, why] of cases) expect(reason(Conversation.parseTurns(value, true))).toBe(why)
    // ETO turns have no loss: a stray one is ignored, not checked.
    expect(Result.isSuccess(Conversation.parseTurns([{ from: "human", value: "p", loss: "yes" }], false))).toBe(true)
  })
})
