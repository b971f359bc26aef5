import { describe, expect, it } from "vitest"
import { fc, test } from "@fast-check/vitest"
import { Result } from "effect"
import * as AgentGymFormat from "../../src/data/AgentGymFormat.ts"
import * as Step from "../../src/domain/Step.ts"

const text = fc.string({ unit: fc.oneof(fc.constantFrom("\n", " ", "\"", "Thought:", "Action:", "é", "😀"), fc.string({ unit: "grapheme", maxLength: 1 })), maxLength: 10 })
const assistant = fc.oneof(
  fc.tuple(text, text).map(([t, a]) => `Thought:\n${t}\n\nAction:\n${a}`), // AgentGym's own layout
  fc.tuple(text, text).map(([t, a]) => `Thought: ${t}\nAction: ${a}`),
  text
).filter((s) => Step.parseAssistantTurn(s).action !== "")
const loss = fc.oneof(fc.boolean(), fc.constant(null))

/** A valid AgentGym record, every turn with a `loss`; reward and success may be absent. */
const agentGymRecord = fc.record({
  item_id: fc.nat().map((n) => `alfworld_${n}`),
  prompt: text,
  steps: fc.array(fc.tuple(text, assistant), { minLength: 1, maxLength: 4 }),
  last: fc.option(text, { nil: undefined }),
  flags: fc.array(loss, { minLength: 12, maxLength: 12 }),
  reward: fc.option(fc.oneof(fc.constantFrom(0, 1), fc.double({ min: -1, max: 2, noNaN: true }).map((x) => x + 0)), { nil: undefined }),
  success: fc.option(fc.boolean(), { nil: undefined })
}).map(({ item_id, prompt, steps, last, flags, reward, success }) => {
  const plain: Array<[string, string]> = [["human", prompt], ["gpt", "Ok."]]
  for (const [o, a] of steps) plain.push(["human", o], ["gpt", a])
  if (last !== undefined) plain.push(["human", last])
  const conversations = plain.map(([from, value], i) => ({ from, loss: flags[i]!, value }))
  return {
    item_id,
    conversations,
    ...(reward === undefined ? {} : { reward }),
    ...(success === undefined ? {} : { success })
  }
})

describe("AgentGymFormat", () => {
  test.prop([agentGymRecord], { seed: 31, numRuns: 300 })("decode then encode gives the record back, loss flags included", (rec) => {
    const t = AgentGymFormat.decode(rec, "alfworld")
    if (Result.isFailure(t)) throw new Error(t.failure)
    const reward = rec.reward ?? 0
    expect(t.success.source).toBe("agentgym")
    expect(t.success.success).toBe(rec.success ?? reward >= 1)
    expect(t.success.turnLoss).toEqual(rec.conversations.map((c) => c.loss))
    expect(AgentGymFormat.encode(t.success)).toEqual({ ...rec, reward, success: rec.success ?? reward >= 1 })
  })

  it("reads turns without loss, and writes AgentGym's default flags back for them", () => {
    const conversations = [
      { from: "human", value: "p" }, { from: "gpt", value: "Ok." }, { from: "human", value: "o" }, { from: "gpt", value: "a" }
    ]
    const t = AgentGymFormat.decode({ item_id: "w_1", conversations, reward: 1 }, "webshop")
    if (Result.isFailure(t)) throw new Error(t.failure)
    expect(t.success.turnLoss).toBeUndefined()
    expect(AgentGymFormat.encode(t.success).conversations.map((c) => c.loss)).toEqual([null, false, null, true])
  })

  it("gives specific reasons for broken records", () => {
    const conversations = [
      { from: "human", loss: null, value: "p" }, { from: "gpt", loss: false, value: "Ok." }, { from: "human", loss: null, value: "o" }, { from: "gpt", loss: true, value: "a" }
    ]
    const cases: Array<[unknown, string]> = [
      [{ conversations }, "missing field item_id"],
      [{ id: "x", conversations }, "missing field item_id (the record has id: is it --format eto?)"],
      [{ item_id: "x", conversations, success: "yes" }, "success must be a boolean, got string"],
      [{ item_id: "x", conversations: conversations.map((c, i) => (i === 2 ? { ...c, loss: 1 } : c)) }, "turn 2: loss must be a boolean or null, got number"],
      [{ item_id: "x", conversations: conversations.map((c, i) => (i === 3 ? { ...c, value: " " } : c)) }, "empty action at turn 3"],
      [{ item_id: true, conversations }, "item_id must be a string or a number, got boolean"]
    ]
    for (const [rec, why] of cases) {
      const t = AgentGymFormat.decode(rec, "webshop")
      expect(Result.isFailure(t) ? t.failure : "decoded").toBe(why)
    }
  })
})
