/**
 * fast-check arbitraries of chat records (src/data/ChatFormat.ts), shared by test/data/ChatFormat.test.ts
 * (the decoder) and test/data/ChatImport.test.ts (files through the import and the export).
 */
import { fc } from "@fast-check/vitest"
import type * as ChatFormat from "../../src/data/ChatFormat.ts"
import * as Step from "../../src/domain/Step.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"

export const text = fc.string({
  unit: fc.oneof(fc.constantFrom("\n", " ", "\"", "Thought:", "Action:", "é", "😀", "[SEP]"), fc.string({ unit: "grapheme", maxLength: 1 })),
  minLength: 1,
  maxLength: 10
}).filter((s) => s !== "") // a unit may itself be empty
export const assistant = fc.oneof(
  fc.tuple(text, text).map(([t, a]) => `Thought: ${t}\nAction: ${a}`),
  fc.tuple(text, text).map(([t, a]) => `Thought:\n${t}\n\nAction:\n${a}`),
  text
).filter((s) => Step.parseAssistantTurn(s).action !== "")
const weight = fc.option(fc.constantFrom<0 | 1>(0, 1), { nil: undefined })

/** How a message spells its keys and role names: OpenAI's, ShareGPT's, or a mix. */
const spelling = fc.record({ roleKey: fc.constantFrom("role", "from"), contentKey: fc.constantFrom("content", "value"), sharegptNames: fc.boolean() })
const spell = (m: ChatFormat.ChatMessage, s: { roleKey: string; contentKey: string; sharegptNames: boolean }): Record<string, unknown> => {
  const name = s.sharegptNames ? ({ system: "system", user: "human", assistant: "gpt" } as const)[m.role] : m.role
  return { [s.roleKey]: name, [s.contentKey]: m.content, ...(m.weight === undefined ? {} : { weight: m.weight }) }
}

/** A valid chat record as written, and the record export must give back for it. */
export const validChat = fc.record({
  system: fc.option(text, { nil: undefined }),
  ack: fc.tuple(fc.constantFrom("OK", "Ok."), weight),
  prompt: text,
  steps: fc.array(fc.tuple(text, assistant, weight), { minLength: 1, maxLength: 4 }),
  last: fc.option(text, { nil: undefined }),
  id: fc.option(fc.oneof(fc.nat().map((n) => `webshop_${n}`), fc.nat(), text), { nil: undefined }),
  taskId: fc.option(text, { nil: undefined }),
  env: fc.option(fc.constantFrom("webshop", "alfworld", "sciworld"), { nil: undefined }),
  reward: fc.option(fc.oneof(fc.constantFrom(0, 1), fc.double({ min: -1, max: 2, noNaN: true }).map((x) => x + 0)), { nil: undefined }),
  success: fc.option(fc.boolean(), { nil: undefined }),
  bare: fc.boolean(),
  index: fc.nat({ max: 10_000 }),
  spellings: fc.array(spelling, { minLength: 12, maxLength: 12 })
}).map((r) => {
  const messages: Array<ChatFormat.ChatMessage> = r.system !== undefined
    ? [{ role: "system", content: r.system }]
    : [{ role: "user", content: r.prompt }, { role: "assistant", content: r.ack[0], ...(r.ack[1] === undefined ? {} : { weight: r.ack[1] }) }]
  for (const [o, a, w] of r.steps) messages.push({ role: "user", content: o }, { role: "assistant", content: a, ...(w === undefined ? {} : { weight: w }) })
  if (r.last !== undefined) messages.push({ role: "user", content: r.last })
  const written = messages.map((m, i) => spell(m, r.spellings[i]!))
  const record: unknown = r.bare
    ? written
    : {
      ...(r.id === undefined ? {} : { id: r.id }),
      messages: written,
      ...(r.reward === undefined ? {} : { reward: r.reward }),
      ...(r.success === undefined ? {} : { success: r.success }),
      ...(r.env === undefined ? {} : { env: r.env }),
      ...(r.taskId === undefined ? {} : { task_id: r.taskId })
    }
  const id = r.bare || r.id === undefined ? String(r.index) : String(r.id)
  const reward = r.bare ? 0 : r.reward ?? 0
  const expected: ChatFormat.ChatRecord = {
    id,
    messages,
    reward,
    success: r.bare ? false : r.success ?? reward >= 1,
    env: r.bare ? "flag-env" : r.env ?? "flag-env",
    task_id: r.bare ? id : r.taskId ?? id
  }
  return { record, index: r.index, expected }
})

// Values close to chat records, so that the deeper rules are reached: valid records with a few keys
// changed to arbitrary JSON (or a known or unknown role name), dropped, or messages dropped or doubled.
export const anyJson = fc.jsonValue({ maxDepth: 2, stringUnit: "binary" })
const mutation = fc.record({
  at: fc.nat(),
  key: fc.constantFrom("role", "from", "content", "value", "weight", "tool_calls", "id", "task_id", "env", "reward", "success", "messages", "drop", "double", "delete"),
  value: fc.oneof(anyJson, fc.constantFrom<unknown>("system", "user", "assistant", "human", "gpt", "tool", "__proto__", "", "\ud800", 0, 1, null, []))
})
const recordKeys = new Set(["id", "task_id", "env", "reward", "success", "messages"])
const mutate = (record: unknown, ms: ReadonlyArray<{ at: number; key: string; value: unknown }>): unknown => {
  const copy = structuredClone(record) as Array<Record<string, unknown>> | Record<string, unknown>
  for (const { at, key, value } of ms) {
    const messages = Array.isArray(copy) ? copy : copy.messages
    if (recordKeys.has(key)) {
      if (!Array.isArray(copy)) copy[key] = value
    } else if (Array.isArray(messages) && messages.length > 0) {
      const i = at % messages.length
      const m = messages[i] as Record<string, unknown> | undefined
      if (key === "drop") messages.splice(i, 1)
      else if (key === "double") messages.splice(i, 0, structuredClone(messages[i]))
      else if (typeof m === "object" && m !== null && !Array.isArray(m)) {
        if (key === "delete") delete m[["role", "content", "from", "value"][at % 4]!]
        else m[key] = value
      }
    }
  }
  return copy
}
export const nearRecord = fc.tuple(validChat, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([{ record }, ms]) => mutate(record, ms))

// Any trajectory a chat file can hold text for: exporting, importing and exporting again gives the same record.
export const trajectory = fc.record({
  instruction: text,
  ack: fc.option(fc.constantFrom("OK", "Ok."), { nil: undefined }),
  steps: fc.array(fc.tuple(text, assistant), { minLength: 1, maxLength: 4 }),
  last: fc.option(text, { nil: undefined }),
  source: fc.constantFrom("chat", "eto", "agentgym", "generated:shop", "rollout"),
  flags: fc.option(fc.array(fc.oneof(fc.boolean(), fc.constant(null)), { minLength: 11, maxLength: 11 }), { nil: undefined })
}).map((r): Trajectory => {
  const turns = 2 + 2 * r.steps.length + (r.last === undefined ? 0 : 1)
  return {
    id: "t", env: "shop", taskId: "train:1", instruction: r.instruction,
    ...(r.ack === undefined ? {} : { ack: r.ack }),
    steps: r.steps.map(([observation, a]) => ({ observation, ...Step.parseAssistantTurn(a) })),
    ...(r.last === undefined ? {} : { finalObservation: r.last }),
    reward: 0.5, success: false, source: r.source,
    ...(r.flags === undefined ? {} : { turnLoss: r.flags.slice(0, turns) })
  }
})
