import { describe, expect, it } from "vitest"
import { fc, test } from "@fast-check/vitest"
import { Result, Schema } from "effect"
import * as ChatFormat from "../../src/data/ChatFormat.ts"
import * as EtoFormat from "../../src/data/EtoFormat.ts"
import * as Step from "../../src/domain/Step.ts"
import { Trajectory } from "../../src/domain/Trajectory.ts"
import * as ChatArbitrary from "./ChatArbitrary.ts"

const ok = (r: Result.Result<Trajectory, string>): Trajectory => {
  if (Result.isFailure(r)) throw new Error(`expected a trajectory, got: ${r.failure}`)
  return r.success
}
const reason = (r: Result.Result<unknown, string>): string => (Result.isFailure(r) ? r.failure : "decoded")

const sys = (content: string) => ({ role: "system", content })
const user = (content: string) => ({ role: "user", content })
const bot = (content: string) => ({ role: "assistant", content })

/** A record with a system prompt: two steps and a final observation. */
const withSystem = {
  id: "webshop_7",
  messages: [
    sys("You are web shopping."),
    user("Instruction: a red mug [Search]"),
    bot("Thought: search first\nAction: search[red mug]"),
    user("results..."),
    bot("click[B01]"),
    user("Thank you")
  ],
  reward: 0.5
}

/** The same conversation ETO's way: the prompt as the first user message, then an acknowledgement. */
const withoutSystem = {
  id: "webshop_7",
  messages: [user("You are web shopping."), bot("OK"), ...withSystem.messages.slice(1)],
  reward: 0.5
}

describe("ChatFormat: the two shapes", () => {
  it("with a system message: system -> instruction, then (user, assistant) steps, a trailing user -> finalObservation, no ack", () => {
    expect(ok(ChatFormat.decode(withSystem, "webshop", 0))).toEqual({
      id: "webshop_7",
      env: "webshop",
      taskId: "webshop_7",
      instruction: "You are web shopping.",
      steps: [
        { observation: "Instruction: a red mug [Search]", thought: "search first", action: "search[red mug]" },
        { observation: "results...", action: "click[B01]" }
      ],
      finalObservation: "Thank you",
      reward: 0.5,
      success: false,
      source: "chat"
    })
  })

  it("without one: read as ETO reads its conversations (first user -> instruction, first assistant -> ack)", () => {
    const t = ok(ChatFormat.decode(withoutSystem, "webshop", 0))
    const eto = ok(EtoFormat.decode({ id: "webshop_7", conversations: withoutSystem.messages.map((m) => ({ from: m.role === "user" ? "human" : "gpt", value: m.content })), reward: 0.5 }, "webshop"))
    expect(t).toEqual({ ...eto, source: "chat" })
    expect(t.ack).toBe("OK")
  })

  it("export writes each shape back as it came", () => {
    for (const rec of [withSystem, withoutSystem]) {
      const back = ChatFormat.encode(ok(ChatFormat.decode(rec, "webshop", 0)))
      expect(back).toEqual({ ...rec, success: false, env: "webshop", task_id: "webshop_7" })
      expect(Object.keys(back)).toEqual(["id", "messages", "reward", "success", "env", "task_id"])
    }
  })

  it("a trajectory from elsewhere (ETO, a built-in environment) is written with its instruction as the system message, its ack left out", () => {
    const eto = ok(EtoFormat.decode({ id: "w_1", conversations: [{ from: "human", value: "p" }, { from: "gpt", value: "OK" }, { from: "human", value: "o" }, { from: "gpt", value: "a" }] }, "webshop"))
    expect(ChatFormat.encode(eto)).toEqual({
      id: "w_1", messages: [sys("p"), user("o"), bot("a")], reward: 0, success: false, env: "webshop", task_id: "w_1"
    })
    const generated: Trajectory = {
      id: "shop-1-train:3", env: "shop", taskId: "train:3", instruction: "p", ack: "OK",
      steps: [{ observation: "o1", action: "wrong" }, { observation: "o2", thought: "t", action: "right" }],
      finalObservation: "done", reward: 1, success: true, source: "generated:shop",
      // a recovery: the first action is a deliberate mistake, context only
      turnLoss: [null, false, null, false, null, true, null]
    }
    expect(ChatFormat.encode(generated).messages).toEqual([
      sys("p"), user("o1"), { ...bot("wrong"), weight: 0 }, user("o2"), { ...bot("Thought: t\nAction: right"), weight: 1 }, user("done")
    ])
    // Flags of the wrong length are ignored, as on every export.
    expect(ChatFormat.encode({ ...generated, turnLoss: [false] }).messages.some((m) => m.weight !== undefined)).toBe(false)
  })
})

describe("ChatFormat: lenient reading", () => {
  it("reads from/value for role/content, mixed within one conversation (ETO's alfworld_icl.json does), and human/gpt under either key", () => {
    const mixed = {
      id: "m",
      messages: [
        { from: "system", value: "You are in a house." },
        { role: "user", content: "o1" },
        { from: "gpt", content: "a1" },
        { from: "human", value: "o2" },
        { role: "gpt", value: "a2" },
        { role: "human", content: "end" }
      ]
    }
    const t = ok(ChatFormat.decode(mixed, "alfworld", 0))
    expect(t.instruction).toBe("You are in a house.")
    expect(t.steps).toEqual([{ observation: "o1", action: "a1" }, { observation: "o2", action: "a2" }])
    expect(t.finalObservation).toBe("end")
    expect(ChatFormat.encode(t).messages).toEqual([sys("You are in a house."), user("o1"), bot("a1"), user("o2"), bot("a2"), user("end")])
  })

  it("accepts both keys of a pair when they agree", () => {
    const t = ok(ChatFormat.decode({ messages: [{ role: "user", from: "human", content: "p", value: "p" }, bot("OK"), user("o"), { role: "assistant", from: "gpt", content: "a" }] }, "w", 0))
    expect([t.instruction, t.ack, t.steps]).toEqual(["p", "OK", [{ observation: "o", action: "a" }]])
  })

  it("reads a bare array of messages as a record: id is its index in the file, env the --env, reward 0", () => {
    const t = ok(ChatFormat.decode([sys("s"), user("o"), bot("a")], "alfworld", 12))
    expect([t.id, t.taskId, t.env, t.reward, t.success, t.source]).toEqual(["12", "12", "alfworld", 0, false, "chat"])
  })

  it("takes id (a number as its decimal text), task_id, env, reward and success from the record", () => {
    const messages = [sys("s"), user("o"), bot("a")]
    const t = ok(ChatFormat.decode({ id: 17, task_id: "train:4", env: "house", reward: 0.25, success: true, messages }, "alfworld", 0))
    expect([t.id, t.taskId, t.env, t.reward, t.success]).toEqual(["17", "train:4", "house", 0.25, true])
    expect(Object.is(ok(ChatFormat.decode({ reward: -0, messages }, "w", 0)).reward, 0)).toBe(true) // Python writes -0.0
    const u = ok(ChatFormat.decode({ messages, reward: 1 }, "alfworld", 5))
    expect([u.id, u.taskId, u.env, u.reward, u.success]).toEqual(["5", "5", "alfworld", 1, true])
    expect(ok(ChatFormat.decode({ messages, task_id: 9 }, "w", 0)).taskId).toBe("9")
  })

  it("counts a null as an absent key (Arrow-backed datasets give every message every key)", () => {
    const rec = {
      id: null, task_id: null, env: null, reward: null, success: null,
      messages: [
        { role: null, from: "system", content: "s", value: null, tool_calls: null, weight: null },
        { role: "user", from: null, content: null, value: "o", function_call: null },
        { role: "assistant", content: "a", tool_calls: [], name: null }
      ]
    }
    const t = ok(ChatFormat.decode(rec, "w", 3))
    expect([t.id, t.env, t.reward, t.success, t.instruction, t.steps]).toEqual(["3", "w", 0, false, "s", [{ observation: "o", action: "a" }]])
  })

  it("reads OpenAI's weight (0 or 1 on an assistant message) into turnLoss, and writes it back", () => {
    const rec = { id: "x", messages: [sys("s"), user("o1"), { ...bot("a1"), weight: 0 }, user("o2"), bot("a2"), user("o3"), { ...bot("a3"), weight: 1 }] }
    const t = ok(ChatFormat.decode(rec, "w", 0))
    // instruction, (no) ack, then per step observation and action
    expect(t.turnLoss).toEqual([null, null, null, false, null, null, null, true])
    expect(ChatFormat.encode(t).messages).toEqual(rec.messages)
    const noSystem = { id: "y", messages: [user("p"), { ...bot("OK"), weight: 0 }, user("o"), { ...bot("a"), weight: 1 }] }
    const u = ok(ChatFormat.decode(noSystem, "w", 0))
    expect(u.turnLoss).toEqual([null, false, null, true])
    expect(ChatFormat.encode(u).messages).toEqual(noSystem.messages)
    expect(ok(ChatFormat.decode({ messages: [sys("s"), user("o"), bot("a")] }, "w", 0)).turnLoss).toBeUndefined()
  })

  it("keeps an assistant message that is not exactly `Thought: X\\nAction: Y` through Step.raw, byte for byte", () => {
    const odd = "Thought:\n  look around\n\nAction:\ngo to desk 1 "
    const t = ok(ChatFormat.decode({ messages: [sys("s"), user("o"), bot(odd)] }, "w", 0))
    expect(t.steps[0]).toEqual({ ...Step.parseAssistantTurn(odd), observation: "o" })
    expect(t.steps[0]!.raw).toBe(odd)
    expect(ChatFormat.encode(t).messages[2]!.content).toBe(odd)
  })
})

describe("ChatFormat: rejects, each with its reason", () => {
  const good = [sys("s"), user("o"), bot("a")]
  const at = (i: number, m: unknown) => ({ messages: good.map((g, j) => (j === i ? m : g)) })
  const cases: Array<[string, unknown, string]> = [
    ["a string", "hello", "record must be an object with messages, or an array of messages, got string"],
    ["null", null, "record must be an object with messages, or an array of messages, got null"],
    ["no messages", { id: "x" }, "missing field messages"],
    ["an ETO record", { id: "x", conversations: [] }, "missing field messages (the record has conversations: is it --format eto or --format agentgym?)"],
    ["a message as a record", { role: "user", content: "o" }, "missing field messages (the record looks like one message: is the file JSONL of bare message arrays? then give --input-format jsonl)"],
    ["messages not an array", { messages: { role: "user" } }, "messages must be an array, got object"],
    ["messages null", { messages: null }, "messages must be an array, got null"],
    ["no message", { messages: [] }, "messages is empty"],
    ["an empty bare array", [], "messages is empty"],
    ["a message that is no object", at(1, "o"), "message 1: expected an object, got string"],
    ["no role", at(1, { content: "o" }), "message 1: missing field role (or from)"],
    ["a null role", at(1, { role: null, content: "o" }), "message 1: role is null"],
    ["a role that is no string", at(1, { role: 1, content: "o" }), "message 1: role must be a string, got number"],
    ["a tool message", at(2, { role: "tool", content: "{}", tool_call_id: "c1" }), "message 2: role \"tool\" is not supported (only system, user and assistant; human and gpt for user and assistant)"],
    ["a function message", at(2, { from: "function", value: "{}" }), "message 2: from \"function\" is not supported (only system, user and assistant; human and gpt for user and assistant)"],
    ["a __proto__ role", at(2, { role: "__proto__", content: "a" }), "message 2: role \"__proto__\" is not supported (only system, user and assistant; human and gpt for user and assistant)"],
    ["role and from disagree", at(1, { role: "user", from: "gpt", content: "o" }), "message 1: role \"user\" and from \"gpt\" disagree"],
    ["a tool call", at(2, { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] }), "message 2: a tool call (tool_calls): tool-calling conversations are not supported"],
    ["a tool call with text", at(2, { role: "assistant", content: "a", tool_calls: [{ id: "c1" }] }), "message 2: a tool call (tool_calls): tool-calling conversations are not supported"],
    ["a legacy function call", at(2, { role: "assistant", content: null, function_call: { name: "f", arguments: "{}" } }), "message 2: a tool call (function_call): tool-calling conversations are not supported"],
    ["no content", at(1, { role: "user" }), "message 1: missing field content (or value)"],
    ["a null content", at(1, { role: "user", content: null }), "message 1: content is null"],
    ["empty content", at(1, { role: "user", content: "" }), "message 1: content is empty"],
    ["empty value", at(1, { from: "human", value: "" }), "message 1: value is empty"],
    ["content parts", at(1, { role: "user", content: [{ type: "text", text: "o" }] }), "message 1: content must be a string, got array (a list of content parts is not supported)"],
    ["a number content", at(1, { role: "user", content: 4 }), "message 1: content must be a string, got number"],
    ["content and value disagree", at(1, { role: "user", content: "o", value: "p" }), "message 1: content and value disagree (a message holds one text)"],
    ["a lone surrogate", at(1, { role: "user", content: "o\ud800" }), "message 1: content is not well-formed Unicode (a lone surrogate)"],
    ["a weight of 0.5", at(2, { role: "assistant", content: "a", weight: 0.5 }), "message 2: weight must be 0 or 1, got 0.5"],
    ["a weight as text", at(2, { role: "assistant", content: "a", weight: "1" }), "message 2: weight must be 0 or 1, got string"],
    ["a weight on a user message", at(1, { role: "user", content: "o", weight: 1 }), "message 1: weight on a user message (OpenAI's weight flags assistant messages only)"],
    ["two system messages", { messages: [sys("s"), sys("t"), user("o"), bot("a")] }, "message 1: a second system message (one system message, the first, is read)"],
    ["a late system message", { messages: [user("p"), bot("OK"), user("o"), sys("s"), bot("a")] }, "message 3: a system message after the conversation started (one system message, the first, is read)"],
    ["an assistant right after the system message", { messages: [sys("s"), bot("a"), user("o")] }, "message 1: expected role user, got assistant"],
    ["two user messages in a row", { messages: [sys("s"), user("o"), user("o2"), bot("a")] }, "message 2: expected role assistant, got user"],
    ["two user messages in a row, no system", { messages: [user("p"), user("o"), bot("a"), user("o2"), bot("a2")] }, "message 1: expected role assistant, got user"],
    ["an assistant first", { messages: [bot("a"), user("o")] }, "message 0: expected role user, got assistant"],
    ["only a system message", { messages: [sys("s")] }, "conversation has 1 message; needs at least 3 with a system message (system prompt, observation, action)"],
    ["no action after the system message", { messages: [sys("s"), user("o")] }, "conversation has 2 messages; needs at least 3 with a system message (system prompt, observation, action)"],
    ["no step without a system message", { messages: [user("p"), bot("OK"), user("o")] }, "conversation has 3 messages; needs at least 4 (prompt, acknowledgement, observation, action)"],
    ["an empty action", { messages: [sys("s"), user("o"), bot("Thought: x\nAction: ")] }, "empty action at message 2"],
    ["an empty action, no system", { messages: [user("p"), bot("OK"), user("o"), bot("  ")] }, "empty action at message 3"],
    ["an id of a wrong type", { id: true, messages: good }, "id must be a string or a number, got boolean"],
    ["an empty id", { id: "", messages: good }, "id is empty"],
    ["an infinite id", { id: Infinity, messages: good }, "id must be a string or a number, got number"],
    ["a task_id of a wrong type", { task_id: ["t"], messages: good }, "task_id must be a string or a number, got array"],
    ["an empty task_id", { task_id: "", messages: good }, "task_id is empty"],
    ["an env of a wrong type", { env: 3, messages: good }, "env must be a string, got number"],
    ["an empty env", { env: "", messages: good }, "env is empty"],
    ["a lone surrogate in the id", { id: "\udc00", messages: good }, "id is not well-formed Unicode (a lone surrogate)"],
    ["a reward as text", { reward: "1.0", messages: good }, "reward must be a number, got string"],
    ["an infinite reward", { reward: Infinity, messages: good }, "reward must be a finite number, got Infinity (a number too large for a double?)"],
    ["a success as text", { success: "yes", messages: good }, "success must be a boolean, got string"]
  ]
  for (const [name, record, why] of cases) {
    it(name, () => expect(reason(ChatFormat.decode(record, "w", 0))).toBe(why))
  }
})

// ---------------------------------------------------------------------------------------------------
// Properties (the arbitraries are in ChatArbitrary.ts)

describe("ChatFormat: properties", () => {
  test.prop([ChatArbitrary.validChat], { seed: 51, numRuns: 400 })("any valid chat record round-trips: decode, encode gives it back in OpenAI's spelling, decode again gives the same trajectory", ({ record, index, expected }) => {
    const t = ok(ChatFormat.decode(record, "flag-env", index))
    expect(Schema.is(Trajectory)(t)).toBe(true)
    const back = ChatFormat.encode(t)
    expect(back).toEqual(expected)
    expect(ok(ChatFormat.decode(JSON.parse(JSON.stringify(back)), "another-env", index + 1))).toEqual(t)
  })

  test.prop([fc.jsonValue({ maxDepth: 4, stringUnit: "binary" }), fc.nat()], { seed: 52, numRuns: 2000 })("arbitrary JSON never throws: a trajectory, or a one-line reason", (value, index) => {
    const r = ChatFormat.decode(value, "w", index)
    if (Result.isSuccess(r)) expect(Schema.is(Trajectory)(r.success)).toBe(true)
    else expect(r.failure).toMatch(/^[^\n]+$/)
  })

  test.prop([ChatArbitrary.nearRecord, fc.nat()], { seed: 53, numRuns: 3000 })("values near chat records never throw; a decoded one survives an export and a decode unchanged", (value, index) => {
    const r = ChatFormat.decode(value, "w", index)
    if (Result.isFailure(r)) {
      expect(r.failure).toMatch(/^[^\n]+$/)
      return
    }
    expect(Schema.is(Trajectory)(r.success)).toBe(true)
    expect(ok(ChatFormat.decode(JSON.parse(JSON.stringify(ChatFormat.encode(r.success))), "x", 0))).toEqual(r.success)
  })

  test.prop([ChatArbitrary.trajectory], { seed: 54, numRuns: 400 })("export, import, export gives the same record, whatever the trajectory's source", (t) => {
    const once = ChatFormat.encode(t)
    const again = ChatFormat.encode(ok(ChatFormat.decode(JSON.parse(JSON.stringify(once)), "other", 0)))
    expect(JSON.stringify(again)).toBe(JSON.stringify(once))
  })
})
