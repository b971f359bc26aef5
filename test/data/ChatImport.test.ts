import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { fc, test } from "@fast-check/vitest"
import { Effect, Result, Stream } from "effect"
import * as ChatFormat from "../../src/data/ChatFormat.ts"
import * as Export from "../../src/data/Export.ts"
import * as Import from "../../src/data/Import.ts"
import * as TrajectoryArrow from "../../src/data/TrajectoryArrow.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"
import * as ChatArbitrary from "./ChatArbitrary.ts"

// Chat files through the real import and export (src/data/Import.ts, Export.ts), in temporary directories.
const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "chat-import-"))
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))

let fileNo = 0
const tmp = (name: string): string => NodePath.join(dir, `${fileNo++}-${name}`)

type Layout = "json" | "jsonl"
const fileText = (records: ReadonlyArray<unknown>, layout: Layout): string =>
  layout === "json" ? `[\n${records.map((r) => JSON.stringify(r)).join(",\n")}\n]\n` : records.map((r) => `${JSON.stringify(r)}\n`).join("")

const readJsonl = (path: string): Array<unknown> =>
  NodeFs.readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as unknown)

// The layout is given: a JSONL file of bare message arrays opens with `[` and would be taken for a JSON array.
const importChat = (input: string, out: string, layout?: Layout, strict = false) =>
  Import.importFile({ input, format: "chat", env: "flag-env", out, layout, strict })
const exportChat = (input: string, out: string, layout: Layout) => Export.exportFile({ input, format: "chat", out, layout })
const trajectories = (path: string) => Stream.runCollect(TrajectoryArrow.read(path)).pipe(Effect.map((c): Array<Trajectory> => Array.from(c)))

describe("chat files: import -> export -> import", () => {
  test.prop([fc.array(ChatArbitrary.validChat, { maxLength: 8 }), fc.constantFrom<Layout>("json", "jsonl")], { seed: 61, numRuns: 40 })(
    "valid records: every one written; the export read back gives identical trajectories, and exporting those again gives the same bytes",
    (generated, layout) =>
      Effect.runPromise(Effect.gen(function*() {
        const records = generated.map((g) => g.record)
        const input = tmp(`in.${layout}`)
        NodeFs.writeFileSync(input, fileText(records, layout))
        const out = tmp("a.arrows")
        expect(yield* importChat(input, out, layout)).toEqual({ read: records.length, written: records.length, rejected: 0, rejects: `${out}.rejects.jsonl`, warnings: 0 })
        const first = yield* trajectories(out)
        // What the decoder gives each record at its position in the file (ChatFormat.test.ts checks the decoder itself).
        expect(first).toEqual(records.map((r, i) => Result.getOrThrow(ChatFormat.decode(r, "flag-env", i))))
        const exported = tmp(`b.${layout}`)
        expect(yield* exportChat(out, exported, layout)).toEqual({ written: records.length, out: exported, format: "chat", layout })
        const again = tmp("c.arrows")
        expect(yield* importChat(exported, again, layout)).toMatchObject({ read: records.length, written: records.length, rejected: 0 })
        expect(yield* trajectories(again)).toEqual(first)
        const reexported = tmp(`d.${layout}`)
        yield* exportChat(again, reexported, layout)
        expect(NodeFs.readFileSync(reexported).equals(NodeFs.readFileSync(exported))).toBe(true)
      }))
  )

  test.prop([fc.array(ChatArbitrary.trajectory, { minLength: 1, maxLength: 6 })], { seed: 62, numRuns: 25 })(
    "trajectories of any source (ETO, AgentGym, generated, rollouts): exported to chat, imported, exported again, the same bytes",
    (ts) =>
      Effect.runPromise(Effect.gen(function*() {
        const arrows = tmp("src.arrows")
        yield* Stream.fromIterable(ts.map((t, i) => ({ ...t, id: `t${i}` }))).pipe(TrajectoryArrow.write(arrows))
        const once = tmp("once.jsonl")
        yield* exportChat(arrows, once, "jsonl")
        const back = tmp("back.arrows")
        expect(yield* importChat(once, back)).toMatchObject({ read: ts.length, written: ts.length, rejected: 0 })
        const twice = tmp("twice.jsonl")
        yield* exportChat(back, twice, "jsonl")
        expect(NodeFs.readFileSync(twice, "utf8")).toBe(NodeFs.readFileSync(once, "utf8"))
      }))
  )
})

describe("chat files: anything else is read or rejected with a reason", () => {
  const value = fc.oneof(ChatArbitrary.nearRecord, ChatArbitrary.anyJson, ChatArbitrary.validChat.map((g) => g.record))
  test.prop([fc.array(value, { maxLength: 20 }), fc.constantFrom<Layout>("json", "jsonl")], { seed: 63, numRuns: 60 })(
    "read == written + rejected; each reject has its index and the decoder's reason; the trajectories are the decoder's",
    (values, layout) =>
      Effect.runPromise(Effect.gen(function*() {
        const input = tmp(`any.${layout}`)
        NodeFs.writeFileSync(input, fileText(values, layout))
        const out = tmp("any.arrows")
        const summary = yield* importChat(input, out, layout)
        const decoded = values.map((v, i) => ChatFormat.decode(v, "flag-env", i))
        // A record whose acknowledgement looks like an action is written, with a warning.
        const warned = decoded.filter((d) => Result.isSuccess(d) && d.success.ack !== undefined && /(^|\n)[ \t]*Action:/.test(d.success.ack)).length
        expect(summary).toEqual({
          read: values.length,
          written: decoded.filter(Result.isSuccess).length,
          rejected: decoded.filter(Result.isFailure).length,
          rejects: `${out}.rejects.jsonl`,
          warnings: warned,
          ...(warned === 0 ? {} : { firstWarning: expect.any(Number) })
        })
        expect(summary.read).toBe(summary.written + summary.rejected)
        expect(readJsonl(summary.rejects)).toEqual(decoded.flatMap((d, index) =>
          Result.isFailure(d) ? [{ index, reason: d.failure, record: JSON.parse(JSON.stringify(values[index])) }] : []
        ))
        expect(yield* trajectories(out)).toEqual(decoded.flatMap((d) => (Result.isSuccess(d) ? [d.success] : [])))
      }))
  )
})

describe("chat files: as the field writes them", () => {
  it.effect("reads a file like ETO's alfworld_icl.json: an array of bare conversations whose turns mix role/content and from/content", () =>
    Effect.gen(function*() {
      const prompt = "Interact with a household to solve a task. Imagine you are an intelligent agent in a household environment and your target is to perform actions to complete the task goal."
      const icl = [
        [
          { role: "user", content: prompt },
          { from: "gpt", content: "OK" },
          { role: "user", content: "You are in the middle of a room. Looking quickly around you, you see a cabinet 1 and a countertop 1.\nYour task is to: put a clean lettuce in diningtable." },
          { from: "gpt", content: "Thought: To solve the task, I need to find and take a lettuce.\nAction: go to countertop 1" },
          { role: "user", content: "Observation: On the countertop 1, you see a lettuce 1." },
          { from: "gpt", content: "Action: take lettuce 1 from countertop 1" },
          { role: "user", content: "Observation: You pick up the lettuce 1 from the countertop 1." }
        ],
        [
          { role: "user", content: prompt },
          { from: "gpt", content: "OK" },
          { role: "user", content: "You are in the middle of a room.\nYour task is to: look at the bowl under the desklamp." },
          { from: "gpt", content: "Thought: First I need to find a bowl.\nAction: go to desk 1" }
        ]
      ]
      const input = tmp("alfworld_icl.json")
      NodeFs.writeFileSync(input, JSON.stringify(icl, null, 4))
      const out = tmp("icl.arrows")
      expect(yield* importChat(input, out)).toEqual({ read: 2, written: 2, rejected: 0, rejects: `${out}.rejects.jsonl`, warnings: 0 })
      const [a, b] = yield* trajectories(out)
      expect(a).toEqual({
        id: "0",
        env: "flag-env",
        taskId: "0",
        instruction: prompt,
        ack: "OK",
        steps: [
          { observation: icl[0]![2]!.content, thought: "To solve the task, I need to find and take a lettuce.", action: "go to countertop 1" },
          { observation: "Observation: On the countertop 1, you see a lettuce 1.", action: "Action: take lettuce 1 from countertop 1" }
        ],
        finalObservation: "Observation: You pick up the lettuce 1 from the countertop 1.",
        reward: 0,
        success: false,
        source: "chat"
      })
      expect([b!.id, b!.steps.length, b!.finalObservation]).toEqual(["1", 1, undefined])
      // Written back without a system message, as it came, in OpenAI's spelling.
      const back = tmp("icl-back.jsonl")
      yield* exportChat(out, back, "jsonl")
      const records = readJsonl(back) as Array<ChatFormat.ChatRecord>
      expect(records.map((r) => r.messages)).toEqual(icl.map((c) => c.map((m) => ({ role: "from" in m ? "assistant" : "user", content: m.content }))))
    }))

  it.effect("a JSONL file of bare message arrays is taken for a JSON array unless --input-format jsonl says otherwise; the reason says so", () =>
    Effect.gen(function*() {
      const conversation = [{ role: "system", content: "s" }, { role: "user", content: "o" }, { role: "assistant", content: "a" }]
      const input = tmp("bare.jsonl")
      NodeFs.writeFileSync(input, fileText([conversation, conversation], "jsonl"))
      const guessed = yield* importChat(input, tmp("bare-guessed.arrows"))
      expect(guessed).toMatchObject({ read: 6, written: 0, rejected: 6 })
      expect((readJsonl(guessed.rejects) as Array<{ reason: string }>)[0]!.reason).toMatch(/looks like one message: .* give --input-format jsonl\)$/)
      expect(yield* importChat(input, tmp("bare.arrows"), "jsonl")).toMatchObject({ read: 2, written: 2, rejected: 0 })
    }))

  it.effect("a conversation without a system message whose message 1 is an action: a warning, and with --strict a reject naming message 1", () =>
    Effect.gen(function*() {
      const noAck = { id: "n", messages: [{ role: "user", content: "Task: find x. Observation: page" }, { role: "assistant", content: "Thought: a\nAction: search[x]" }, { role: "user", content: "obs" }, { role: "assistant", content: "Action: click[y]" }] }
      const fine = { id: "f", messages: [{ role: "system", content: "Task" }, { role: "user", content: "page" }, { role: "assistant", content: "Thought: a\nAction: search[x]" }] }
      const input = tmp("noack.jsonl")
      NodeFs.writeFileSync(input, fileText([fine, noAck], "jsonl"))
      expect(yield* importChat(input, tmp("noack.arrows"))).toMatchObject({ read: 2, written: 2, rejected: 0, warnings: 1, firstWarning: 1 })
      const strict = yield* importChat(input, tmp("noack-strict.arrows"), undefined, true)
      expect(strict).toMatchObject({ read: 2, written: 1, rejected: 1, warnings: 0 })
      expect(readJsonl(strict.rejects)).toEqual([{
        index: 1,
        reason: "message 1 is an action (it has an Action: line), not the acknowledgement: the prompt + acknowledgement pair is missing",
        record: noAck
      }])
    }))

  it.effect("an empty observation of another source is written as it is and rejected on the way back in, with its reason", () =>
    Effect.gen(function*() {
      const t: Trajectory = {
        id: "e", env: "shop", taskId: "train:0", instruction: "p", ack: "OK", steps: [{ observation: "", action: "look" }],
        reward: 0, success: false, source: "eto"
      }
      const arrows = tmp("empty.arrows")
      yield* Stream.make(t).pipe(TrajectoryArrow.write(arrows))
      const out = tmp("empty.jsonl")
      yield* exportChat(arrows, out, "jsonl")
      const back = yield* importChat(out, tmp("empty-back.arrows"))
      expect(back).toMatchObject({ read: 1, written: 0, rejected: 1 })
      expect(readJsonl(back.rejects)).toMatchObject([{ index: 0, reason: "message 1: content is empty" }])
    }))
})
