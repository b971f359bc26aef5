import { describe, expect, it } from "vitest"
import { fc, test } from "@fast-check/vitest"
import { Result } from "effect"
import * as EtoFormat from "../../src/data/EtoFormat.ts"
import * as Step from "../../src/domain/Step.ts"

const text = fc.string({ unit: fc.oneof(fc.constantFrom("\n", " ", "\"", "Thought:", "Action:", "é", "😀"), fc.string({ unit: "grapheme", maxLength: 1 })), maxLength: 10 })
const assistant = fc.oneof(
  fc.tuple(text, text).map(([t, a]) => `Thought: ${t}\nAction: ${a}`),
  text
).filter((s) => Step.parseAssistantTurn(s).action !== "")

/** A valid ETO/IPR record; `reward` may be absent. */
const etoRecord = fc.record({
  id: fc.oneof(fc.nat().map((n) => `webshop_${n}`), text.filter((s) => s !== "")),
  prompt: text,
  ack: fc.constantFrom("OK", "Ok."),
  steps: fc.array(fc.tuple(text, assistant), { minLength: 1, maxLength: 4 }),
  last: fc.option(text, { nil: undefined }),
  reward: fc.option(fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x + 0)), { nil: undefined })
}).map(({ id, prompt, ack, steps, last, reward }) => {
  const conversations = [{ from: "human", value: prompt }, { from: "gpt", value: ack }]
  for (const [o, a] of steps) conversations.push({ from: "human", value: o }, { from: "gpt", value: a })
  if (last !== undefined) conversations.push({ from: "human", value: last })
  return reward === undefined ? { id, conversations } : { id, conversations, reward }
})

type Rec = Record<string, unknown> & { conversations: Array<Record<string, unknown>> }

/** Ways a record can be broken, each with the reason it must get. */
const mutations: ReadonlyArray<[string, (r: Rec) => unknown, RegExp]> = [
  ["no id", ({ id: _, ...r }) => r, /^missing field id$/],
  ["AgentGym id", ({ id, ...r }) => ({ item_id: id, ...r }), /^missing field id \(the record has item_id: is it --format agentgym\?\)$/],
  ["no conversations", ({ conversations: _, ...r }) => r, /^missing field conversations$/],
  ["a chat record", ({ conversations, ...r }) => ({ ...r, messages: conversations }), /^missing field conversations \(the record has messages: is it --format chat\?\)$/],
  ["id of a wrong type", (r) => ({ ...r, id: { x: 1 } }), /^id must be a string or a number, got object$/],
  ["empty id", (r) => ({ ...r, id: "" }), /^id is empty$/],
  ["reward as text", (r) => ({ ...r, reward: "1.0" }), /^reward must be a number, got string$/],
  ["conversations as text", (r) => ({ ...r, conversations: "human: hi" }), /^conversations must be an array, got string$/],
  ["a turn that is not an object", (r) => ({ ...r, conversations: [...r.conversations.slice(0, 2), 42, ...r.conversations.slice(3)] }), /^turn 2: expected an object, got number$/],
  ["a turn without value", (r) => ({ ...r, conversations: r.conversations.map((t, i) => (i === 2 ? { from: t.from } : t)) }), /^turn 2: missing field value$/],
  ["two human turns in a row", (r) => ({ ...r, conversations: r.conversations.map((t, i) => (i === 3 ? { ...t, from: "human" } : t)) }), /^turn 3: expected from gpt, got human$/],
  ["no acknowledgement", (r) => ({ ...r, conversations: [r.conversations[0], ...r.conversations.slice(2)] }), /^turn 1: expected from gpt, got human$/],
  ["an empty action", (r) => ({ ...r, conversations: r.conversations.map((t, i) => (i === 3 ? { ...t, value: "Thought: x\nAction: " } : t)) }), /^empty action at turn 3$/],
  ["too few turns", (r) => ({ ...r, conversations: r.conversations.slice(0, 3) }), /^conversation has 3 turns; needs at least 4/],
  ["not an object", (r) => [r], /^record must be an object, got array$/],
  ["null", () => null, /^record must be an object, got null$/]
]

describe("EtoFormat", () => {
  test.prop([etoRecord], { seed: 21, numRuns: 300 })("decode then encode gives the record back (reward 0 when absent)", (rec) => {
    const t = EtoFormat.decode(rec, "webshop")
    if (Result.isFailure(t)) throw new Error(t.failure)
    expect(t.success.env).toBe("webshop")
    expect(t.success.taskId).toBe(rec.id)
    expect(t.success.source).toBe("eto")
    expect(t.success.success).toBe((rec.reward ?? 0) >= 1)
    expect(EtoFormat.encode(t.success)).toEqual({ ...rec, reward: rec.reward ?? 0 })
  })

  test.prop([etoRecord, fc.nat()], { seed: 22, numRuns: 300 })("a broken record is rejected with a specific reason", (rec, which) => {
    const [, mutate, why] = mutations[which % mutations.length]!
    const t = EtoFormat.decode(mutate(rec as Rec), "webshop")
    expect(Result.isFailure(t) ? t.failure : "decoded").toMatch(why)
  })

  it("keeps a numeric id as its decimal text, and honours an explicit success", () => {
    const conversations = [
      { from: "human", value: "p" }, { from: "gpt", value: "OK" }, { from: "human", value: "o" }, { from: "gpt", value: "a" }
    ]
    const t = EtoFormat.decode({ id: 17, conversations, reward: 0.2, success: true }, "alfworld")
    expect(Result.isSuccess(t) && [t.success.id, t.success.taskId, t.success.success]).toEqual(["17", "17", true])
  })

  it("writes ETO's acknowledgement when a trajectory has none", () => {
    const rec = EtoFormat.encode({
      id: "g1", env: "shop", taskId: "train:1", instruction: "p", steps: [{ observation: "o", thought: "t", action: "a" }], reward: 0, success: false, source: "generated:shop"
    })
    expect(rec.conversations.map((t) => t.value)).toEqual(["p", "OK", "o", "Thought: t\nAction: a"])
  })
})
