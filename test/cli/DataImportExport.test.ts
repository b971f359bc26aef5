import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { fc, test } from "@fast-check/vitest"
import { Effect } from "effect"
import * as Export from "../../src/data/Export.ts"
import * as Import from "../../src/data/Import.ts"
import * as Step from "../../src/domain/Step.ts"

const root = NodePath.resolve(import.meta.dirname, "../..")
const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "data-import-"))
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))

let fileNo = 0
const tmp = (name: string): string => NodePath.join(dir, `${fileNo++}-${name}`)

const readJsonl = (path: string): Array<unknown> =>
  NodeFs.readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as unknown)

// ---------------------------------------------------------------------------------------------------
// In-process property: a file of valid and broken records, imported then exported.

const text = fc.string({ unit: fc.oneof(fc.constantFrom("\n", " ", "\"", "\\", "[", "]", "{", "}", ",", "é", "😀"), fc.string({ unit: "grapheme", maxLength: 1 })), maxLength: 10 })
const assistant = fc.oneof(fc.tuple(text, text).map(([t, a]) => `Thought: ${t}\nAction: ${a}`), text)
  .filter((s) => Step.parseAssistantTurn(s).action !== "")

interface Valid {
  readonly id: string
  readonly conversations: ReadonlyArray<{ readonly from: string; readonly value: string }>
  readonly reward?: number
}
const valid = fc.record({
  n: fc.nat(),
  steps: fc.array(fc.tuple(text, assistant), { minLength: 1, maxLength: 3 }),
  last: fc.option(text, { nil: undefined }),
  reward: fc.option(fc.constantFrom(0, 0.25, 1), { nil: undefined })
}).map(({ n, steps, last, reward }): Valid => {
  const conversations = [{ from: "human", value: "You are web shopping." }, { from: "gpt", value: "OK" }]
  for (const [o, a] of steps) conversations.push({ from: "human", value: o }, { from: "gpt", value: a })
  if (last !== undefined) conversations.push({ from: "human", value: last })
  return reward === undefined ? { id: `webshop_${n}`, conversations } : { id: `webshop_${n}`, conversations, reward }
})

const maxRecordBytes = 4096 // small, so that a "huge" record stays cheap to make

/** What goes in the file, and what the import must say about it. */
type Entry =
  | { readonly kind: "valid"; readonly record: Valid }
  | { readonly kind: "bad"; readonly bytes: Uint8Array; readonly reason: RegExp; readonly record?: unknown }

const enc = new TextEncoder()
const badRecord = (record: unknown, reason: RegExp): Entry => ({ kind: "bad", bytes: enc.encode(JSON.stringify(record)), reason, record })
const insertByte = (bytes: Uint8Array, at: number, b: number): Uint8Array => Uint8Array.of(...bytes.subarray(0, at), b, ...bytes.subarray(at))

const entry: fc.Arbitrary<Entry> = fc.oneof(
  { weight: 4, arbitrary: valid.map((record): Entry => ({ kind: "valid", record })) },
  valid.map(({ id: _, ...r }) => badRecord(r, /^missing field id$/)),
  valid.map(({ conversations: _, ...r }) => badRecord(r, /^missing field conversations$/)),
  valid.map((r) => badRecord({ ...r, reward: "1" }, /^reward must be a number, got string$/)),
  valid.map((r) => badRecord({ ...r, conversations: r.conversations.map((t, i) => (i === 2 ? { ...t, value: 7 } : t)) }, /^turn 2: value must be a string, got number$/)),
  valid.map((r) => badRecord({ ...r, conversations: r.conversations.map((t, i) => (i === 3 ? { ...t, value: "Thought: x\nAction:" } : t)) }, /^empty action at turn 3$/)),
  valid.map((r) => badRecord({ ...r, conversations: r.conversations.map((t, i) => (i === 2 ? { ...t, from: "gpt" } : t)) }, /^turn 2: expected from human, got gpt$/)),
  fc.constantFrom("{\"id\": tru}", "{\"id\" \"x\"}", "{\"id\": \"x\",}", "{'id': 1}").map((s): Entry => ({ kind: "bad", bytes: enc.encode(s), reason: /^invalid JSON: /, record: s })),
  valid.map((r): Entry => {
    const b = enc.encode(JSON.stringify(r))
    return { kind: "bad", bytes: insertByte(b, 7, 0xff), reason: /^not UTF-8$/ } // inside the id string
  }),
  valid.map((r): Entry => ({ kind: "bad", bytes: enc.encode(JSON.stringify({ ...r, pad: "x".repeat(maxRecordBytes) })), reason: /^record exceeds 4096 bytes$/ }))
)

describe("data import / export (in process)", () => {
  test.prop([fc.array(entry, { maxLength: 12 }), fc.boolean(), fc.boolean(), fc.nat()], { seed: 41, numRuns: 40 })(
    "every broken record gets its reason in the rejects file, nothing that decodes is lost, read == written + rejected",
    (entries, asArray, cutLast, cutSeed) =>
      Effect.runPromise(Effect.gen(function*() {
        const pieces = entries.map((e) => (e.kind === "valid" ? enc.encode(JSON.stringify(e.record)) : e.bytes))
        const sep = enc.encode(asArray ? ",\n" : "\n")
        const parts: Array<Uint8Array> = asArray ? [enc.encode("[\n")] : []
        pieces.forEach((p, i) => parts.push(...(i > 0 ? [sep, p] : [p])))
        parts.push(enc.encode(asArray ? "\n]\n" : "\n"))
        let file = Buffer.concat(parts)
        const expected = [...entries]
        // A truncated file: cut inside the last record; it must be rejected as truncated, the rest kept.
        const last = expected.length - 1
        if (cutLast && last >= 0 && expected[last]!.kind === "valid") {
          const lastBytes = pieces[last]!
          const end = file.length - (asArray ? 3 : 1) // where the last record's bytes end
          const cut = end - lastBytes.length + 1 + (cutSeed % (lastBytes.length - 1))
          file = file.subarray(0, cut)
          expected[last] = { kind: "bad", bytes: lastBytes, reason: /truncated/ }
        }
        const input = tmp(asArray ? "in.json" : "in.jsonl")
        NodeFs.writeFileSync(input, file)
        const out = tmp("out.arrows")
        const summary = yield* Import.importFile({ input, format: "eto", env: "webshop", out, maxRecordBytes })

        const good = expected.flatMap((e) => (e.kind === "valid" ? [e.record] : []))
        const bad = expected.flatMap((e, index) => (e.kind === "bad" ? [{ index, e }] : []))
        expect(summary).toEqual({ read: expected.length, written: good.length, rejected: bad.length, rejects: `${out}.rejects.jsonl`, warnings: 0 })
        const rejects = readJsonl(summary.rejects) as Array<{ index: number; reason: string; record: unknown }>
        expect(rejects.map((r) => r.index)).toEqual(bad.map((b) => b.index))
        rejects.forEach((r, i) => {
          expect(r.reason).toMatch(bad[i]!.e.reason)
          const e = bad[i]!.e
          if (e.kind === "bad" && e.record !== undefined) expect(r.record).toEqual(e.record)
        })

        const back = tmp("back.jsonl")
        const exported = yield* Export.exportFile({ input: out, format: "eto", out: back, layout: "jsonl" })
        expect(exported.written).toBe(good.length)
        expect(readJsonl(back)).toEqual(good.map((r) => ({ ...r, reward: r.reward ?? 0 })))
      }))
  )
})

// ---------------------------------------------------------------------------------------------------
// End to end: the real CLI as a child process.

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}
const cli = (...args: Array<string>): Run => {
  const r = NodeChild.spawnSync(NodePath.join(root, "node_modules/.bin/node"), [NodePath.join(root, "bin/stepagent.ts"), ...args], {
    cwd: root,
    encoding: "utf8"
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const cliAsync = (...args: Array<string>): Promise<Run> =>
  new Promise((resolve) => {
    NodeChild.execFile(NodePath.join(root, "node_modules/.bin/node"), [NodePath.join(root, "bin/stepagent.ts"), ...args], { cwd: root, encoding: "utf8" }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    })
  })
const sample = (name: string): string => NodePath.join(root, "data/samples", name)

/** The records of a JSON array or JSONL file. */
const records = (path: string): Array<Record<string, unknown>> => {
  const body = NodeFs.readFileSync(path, "utf8")
  return (body.trimStart().startsWith("[") ? JSON.parse(body) : readJsonl(path)) as Array<Record<string, unknown>>
}

describe("stepagent data import / export (CLI)", () => {
  it("round-trips the ETO sample, turn for turn, to JSON and JSONL", () => {
    const out = tmp("eto.arrows")
    const imp = cli("data", "import", sample("eto-webshop.json"), "--format", "eto", "--env", "webshop", "--out", out)
    expect(imp.stderr).toBe("")
    expect(imp.code).toBe(0)
    expect(JSON.parse(imp.stdout)).toEqual({ read: 3, written: 3, rejected: 0, rejects: `${out}.rejects.jsonl`, warnings: 0 })
    expect(imp.stdout.trim().split("\n")).toHaveLength(1)
    expect(NodeFs.readFileSync(`${out}.rejects.jsonl`, "utf8")).toBe("")
    const original = records(sample("eto-webshop.json")).map((r) => ({ ...r, reward: r.reward ?? 0 }))
    for (const ext of ["json", "jsonl"]) {
      const back = tmp(`eto-back.${ext}`)
      const exp = cli("data", "export", out, "--format", "eto", "--out", back)
      expect(exp.code).toBe(0)
      expect(JSON.parse(exp.stdout)).toEqual({ written: 3, out: back, format: "eto", layout: ext })
      expect(NodeFs.readFileSync(back, "utf8").trimStart()[0]).toBe(ext === "json" ? "[" : "{")
      expect(records(back)).toEqual(original)
    }
  })

  it("round-trips the AgentGym sample with its loss flags and success", () => {
    const out = tmp("ag.arrows")
    const imp = cli("data", "import", sample("agentgym-alfworld.jsonl"), "--format", "agentgym", "--env", "alfworld", "--out", out)
    expect(JSON.parse(imp.stdout)).toMatchObject({ read: 2, written: 2, rejected: 0 })
    const back = tmp("ag-back.jsonl")
    expect(cli("data", "export", out, "--format", "agentgym", "--out", back).code).toBe(0)
    expect(records(back)).toEqual(records(sample("agentgym-alfworld.jsonl")))
  })

  it("writes every broken record to the rejects file with its index and reason; --strict fails", () => {
    const out = tmp("broken.arrows")
    const input = tmp("broken.jsonl")
    // The sample's broken records, a line that is not UTF-8, and one over --max-record-bytes.
    const lines = NodeFs.readFileSync(sample("eto-broken.jsonl"))
    NodeFs.writeFileSync(input, Buffer.concat([lines, Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d, 0x0a]), Buffer.from(`{"id":"${"x".repeat(3000)}"}\n`)]))
    const imp = cli("data", "import", input, "--format", "eto", "--env", "webshop", "--out", out, "--max-record-bytes", "2048")
    expect(imp.code).toBe(0)
    const summary = JSON.parse(imp.stdout) as { read: number; written: number; rejected: number; rejects: string }
    expect(summary).toEqual({ read: 11, written: 2, rejected: 9, rejects: `${out}.rejects.jsonl`, warnings: 0 })
    const rejects = readJsonl(summary.rejects) as Array<{ index: number; reason: string; record: unknown }>
    expect(rejects.map((r) => [r.index, r.reason])).toEqual([
      [1, "invalid JSON: Unexpected end of JSON input"],
      [2, "missing field id"],
      [3, "turn 3: expected from gpt, got human"],
      [4, "empty action at turn 5"],
      [5, "reward must be a number, got string"],
      [6, "missing field id (the record has item_id: is it --format agentgym?)"],
      [7, "conversation has 2 turns; needs at least 4 (prompt, acknowledgement, observation, action)"],
      [9, "not UTF-8"],
      [10, "record exceeds 2048 bytes"]
    ])
    expect(typeof rejects[0]!.record).toBe("string") // the original text of what was not JSON
    expect(rejects[1]!.record).toMatchObject({ conversations: expect.any(Array) }) // the original value

    const strict = cli("data", "import", input, "--format", "eto", "--env", "webshop", "--out", tmp("strict.arrows"), "--strict")
    expect(strict.code).not.toBe(0)
    expect(JSON.parse(strict.stdout)).toMatchObject({ read: 11, rejected: 9 })
    expect(strict.stderr.trim().split("\n")).toHaveLength(1)
    expect(strict.stderr).toMatch(/^stepagent: 9 of 11 records rejected/)
  })

  const conv = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    conversations: [
      { from: "human", value: "You are web shopping." },
      { from: "gpt", value: "OK" },
      { from: "human", value: `find ${id}` },
      { from: "gpt", value: "Thought: look\nAction: search[x]" }
    ],
    ...extra
  })

  it("hostile records never crash an import: deep nesting, a broken array element, non-finite rewards", async () => {
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}` // ~10 KB, thousands of levels
    const good = [conv("a"), conv("b"), conv("c"), conv("d")]
    const g = good.map((r) => JSON.stringify(r))
    const inputs: Array<[string, string, string]> = [
      ["deep.jsonl", `${g[0]}\n${deep}\n{"id":"x","conversations":${deep}}\n${g[1]}\n${g[2]}\n${g[3]}\n`, "nested deeper than 100 levels"],
      ["deep.json", `[${g[0]},${deep},${g[1]},{"id":"x","conversations":${deep}},${g[2]},${g[3]}]`, "nested deeper than 100 levels"],
      ["cut.json", `[${g[0]},${g[1]},{"id":"x","conversations":[{"from":"hu,${g[2]},\n${g[3]}]`, "(read resumed at the next record)"],
      ["inf.jsonl", `${g[0]}\n${g[1]}\n${JSON.stringify(conv("x")).replace(/}$/, ',"reward":1e400}')}\n${g[2]}\n${g[3]}\n`, "reward must be a finite number, got Infinity"]
    ]
    for (const format of ["eto", "agentgym"] as const) {
      const runs = await Promise.all(inputs.map(([name, body]) => {
        const input = tmp(name)
        // AgentGym records name their id item_id.
        NodeFs.writeFileSync(input, format === "eto" ? body : body.replaceAll("\"id\":", "\"item_id\":"))
        const out = tmp(`${name}.arrows`)
        return cliAsync("data", "import", input, "--format", format, "--env", "webshop", "--out", out).then((r) => ({ r, out }))
      }))
      for (const [i, { r, out }] of runs.entries()) {
        const [name, , reason] = inputs[i]!
        expect(r.stderr, `${format} ${name}`).toBe("")
        expect(r.code, `${format} ${name}`).toBe(0)
        const summary = JSON.parse(r.stdout) as { read: number; written: number; rejected: number; rejects: string }
        expect(summary.written, `${format} ${name}`).toBe(4)
        expect(summary.read).toBe(summary.written + summary.rejected)
        const rejects = readJsonl(summary.rejects) as Array<{ index: number; reason: string }>
        expect(rejects.length).toBe(summary.rejected)
        expect(rejects.some((x) => x.reason.includes(reason)), `${format} ${name}: ${JSON.stringify(rejects.map((x) => x.reason))}`).toBe(true)
        const exported = tmp(`${name}.back.jsonl`)
        expect(cli("data", "export", out, "--format", format, "--out", exported).code).toBe(0)
        expect(records(exported).map((x) => x[format === "eto" ? "id" : "item_id"])).toEqual(["a", "b", "c", "d"])
      }
    }
  })

  it("refuses an --out that is the input however it is spelt (./, absolute, links); the input is untouched", () => {
    const sub = NodeFs.mkdtempSync(NodePath.join(dir, "same-"))
    const input = NodePath.join(sub, "in.json")
    const body = JSON.stringify([conv("a")])
    NodeFs.writeFileSync(input, body)
    NodeFs.symlinkSync(input, NodePath.join(sub, "sym.json"))
    NodeFs.linkSync(input, NodePath.join(sub, "hard.json"))
    NodeFs.symlinkSync(input, NodePath.join(sub, "out.arrows.rejects.jsonl"))
    const run = (args: Array<string>) =>
      NodeChild.spawnSync(NodePath.join(root, "node_modules/.bin/node"), [NodePath.join(root, "bin/stepagent.ts"), "data", "import", ...args, "--format", "eto", "--env", "w"], { cwd: sub, encoding: "utf8" })
    for (const [arg, out] of [["in.json", "./in.json"], ["./in.json", input], [input, "sym.json"], ["in.json", "hard.json"], ["in.json", "out.arrows"]] as const) {
      const r = run([arg, "--out", out])
      expect(r.status, `${arg} -> ${out}`).not.toBe(0)
      expect(r.stderr).toMatch(/^stepagent: --out.* is the input file/)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(NodeFs.readFileSync(input, "utf8")).toBe(body)
    }
  })

  it("warns when a conversation lacks the prompt + acknowledgement pair; --strict rejects it", () => {
    const input = tmp("noack.jsonl")
    const noAck = { id: "n", conversations: [{ from: "human", value: "Task: find x. Observation: page" }, { from: "gpt", value: "Thought: a\nAction: search[x]" }, { from: "human", value: "obs" }, { from: "gpt", value: "Action: click[y]" }] }
    NodeFs.writeFileSync(input, `${JSON.stringify(conv("a"))}\n${JSON.stringify(noAck)}\n`)
    const lenient = cli("data", "import", input, "--format", "eto", "--env", "webshop", "--out", tmp("noack.arrows"))
    expect(lenient.code).toBe(0)
    expect(JSON.parse(lenient.stdout)).toMatchObject({ read: 2, written: 2, rejected: 0, warnings: 1, firstWarning: 1 })
    expect(lenient.stderr.trim().split("\n")).toHaveLength(1)
    expect(lenient.stderr).toMatch(/^stepagent: warning: 1 record \(first: index 1\) have an action at turn 1/)
    const strict = cli("data", "import", input, "--format", "eto", "--env", "webshop", "--out", tmp("noack-strict.arrows"), "--strict")
    expect(strict.code).not.toBe(0)
    const summary = JSON.parse(strict.stdout) as { rejects: string }
    expect(summary).toMatchObject({ read: 2, written: 1, rejected: 1, warnings: 0 })
    expect(readJsonl(summary.rejects)).toEqual([{ index: 1, reason: expect.stringMatching(/^turn 1 is an action/), record: noAck }])
  })

  it("a failed import leaves the earlier output and rejects file as they were, and no temporary files", () => {
    const sub = NodeFs.mkdtempSync(NodePath.join(dir, "atomic-"))
    const out = NodePath.join(sub, "out.arrows")
    NodeFs.mkdirSync(out) // the output cannot be renamed into place: the import fails at the very end
    NodeFs.writeFileSync(`${out}.rejects.jsonl`, "earlier\n")
    const input = tmp("atomic.jsonl")
    NodeFs.writeFileSync(input, `${JSON.stringify(conv("a"))}\n{bad}\n`)
    const r = cli("data", "import", input, "--format", "eto", "--env", "webshop", "--out", out)
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(NodeFs.readFileSync(`${out}.rejects.jsonl`, "utf8")).toBe("earlier\n")
    expect(NodeFs.readdirSync(sub).sort()).toEqual(["out.arrows", "out.arrows.rejects.jsonl"])
  })

  it("gives a one-line error and a non-zero exit for bad paths and flags, never a stack trace", async () => {
    const cases: Array<[Array<string>, RegExp]> = [
      [["data", "import", NodePath.join(dir, "nope.json"), "--format", "eto", "--env", "w", "--out", tmp("x.arrows")], /no such file/],
      [["data", "import", dir, "--format", "eto", "--env", "w", "--out", tmp("x.arrows")], /is a directory/],
      [["data", "export", NodePath.join(dir, "nope.arrows"), "--format", "eto", "--out", tmp("x.json")], /no such file/],
      [["data", "export", sample("eto-webshop.json"), "--format", "eto", "--out", tmp("x.json")], /eto-webshop\.json/],
      [["data", "export", sample("eto-webshop.json"), "--format", "eto", "--out", tmp("x.txt")], /must end with \.json or \.jsonl/]
    ]
    const runs = await Promise.all(cases.map(([args]) => cliAsync(...args)))
    for (const [i, [, message]] of cases.entries()) {
      const r = runs[i]!
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(/^stepagent: /)
      expect(r.stderr).toMatch(message)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
    expect(NodeFs.existsSync(NodePath.join(dir, "nope.json.rejects.jsonl"))).toBe(false)
  })
})

describe("stepagent data import / export --format chat (CLI)", () => {
  const chat = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    messages: [
      { role: "system", content: "You are web shopping." },
      { role: "user", content: `find ${id}` },
      { role: "assistant", content: "Thought: look\nAction: search[x]" }
    ],
    ...extra
  })

  it("round-trips the chat sample: the same trajectories (the same Arrow bytes) back from JSON and JSONL, and a re-export gives the same bytes", () => {
    const out = tmp("chat.arrows")
    const imp = cli("data", "import", sample("chat-alfworld.json"), "--format", "chat", "--env", "alfworld", "--out", out)
    expect(imp.stderr).toBe("")
    expect(imp.code).toBe(0)
    expect(JSON.parse(imp.stdout)).toEqual({ read: 3, written: 3, rejected: 0, rejects: `${out}.rejects.jsonl`, warnings: 0 })
    expect(imp.stdout.trim().split("\n")).toHaveLength(1)
    const backs: Record<string, string> = {}
    for (const ext of ["json", "jsonl"]) {
      const back = tmp(`chat-back.${ext}`)
      backs[ext] = back
      const exp = cli("data", "export", out, "--format", "chat", "--out", back)
      expect(exp.code).toBe(0)
      expect(JSON.parse(exp.stdout)).toEqual({ written: 3, out: back, format: "chat", layout: ext })
      const again = tmp(`chat-again-${ext}.arrows`)
      expect(JSON.parse(cli("data", "import", back, "--format", "chat", "--env", "other", "--out", again).stdout)).toMatchObject({ read: 3, written: 3, rejected: 0 })
      expect(NodeFs.readFileSync(again).equals(NodeFs.readFileSync(out)), `${ext}: the trajectories differ`).toBe(true)
      const twice = tmp(`chat-twice.${ext}`)
      expect(cli("data", "export", again, "--format", "chat", "--out", twice).code).toBe(0)
      expect(NodeFs.readFileSync(twice).equals(NodeFs.readFileSync(back)), `${ext}: the re-export differs`).toBe(true)
    }
    // Each record in OpenAI's spelling, in its own shape: a system prompt, or ETO's prompt and acknowledgement.
    const exported = records(backs["jsonl"]!)
    expect(exported.map((r) => [r.id, r.env, r.task_id, (r.messages as Array<{ role: string }>)[0]!.role, (r.messages as Array<{ role: string }>)[1]!.role])).toEqual([
      ["alfworld_12", "alfworld", "pick_and_place-Mug-12", "system", "user"],
      ["7", "alfworld", "7", "system", "user"],
      ["2", "alfworld", "2", "user", "assistant"]
    ])
  })

  it("exports an ETO dataset as chat: the prompt as the system message, the acknowledgement left out", () => {
    const out = tmp("eto-for-chat.arrows")
    expect(cli("data", "import", sample("eto-webshop.json"), "--format", "eto", "--env", "webshop", "--out", out).code).toBe(0)
    const back = tmp("eto-as-chat.jsonl")
    expect(cli("data", "export", out, "--format", "chat", "--out", back).code).toBe(0)
    const eto = records(sample("eto-webshop.json"))
    const chats = records(back)
    expect(chats.map((r) => r.id)).toEqual(eto.map((r) => r.id))
    for (const [i, r] of chats.entries()) {
      const turns = eto[i]!.conversations as Array<{ from: string; value: string }>
      expect(r.messages).toEqual([
        { role: "system", content: turns[0]!.value },
        ...turns.slice(2).map((t) => ({ role: t.from === "gpt" ? "assistant" : "user", content: t.value }))
      ])
    }
  })

  it("writes every broken chat record to the rejects file with its index and reason; --strict fails", () => {
    const input = tmp("chat-broken.jsonl")
    const lines = [
      chat("a"),
      { id: "t", messages: [{ role: "system", content: "s" }, { role: "user", content: "o" }, { role: "assistant", content: null, tool_calls: [{ id: "c" }] }] },
      { id: "r", messages: [{ role: "system", content: "s" }, { role: "tool", content: "{}" }] },
      { id: "e", messages: [{ role: "system", content: "s" }, { role: "user", content: "" }, { role: "assistant", content: "a" }] },
      { id: "p", messages: [{ role: "system", content: "s" }, { role: "user", content: [{ type: "text", text: "o" }] }, { role: "assistant", content: "a" }] },
      { id: "o", messages: [{ role: "system", content: "s" }, { role: "assistant", content: "a" }, { role: "user", content: "o" }] },
      { id: "s", messages: [{ role: "system", content: "s" }, { role: "system", content: "t" }, { role: "user", content: "o" }, { role: "assistant", content: "a" }] },
      { id: "x", conversations: [] },
      chat("b", { reward: "1" }),
      chat("c")
    ]
    NodeFs.writeFileSync(input, `${lines.map((l) => JSON.stringify(l)).join("\n")}\n{"id": "cut", "messages": [`) // cut short
    const out = tmp("chat-broken.arrows")
    const imp = cli("data", "import", input, "--format", "chat", "--env", "webshop", "--out", out)
    expect(imp.code).toBe(0)
    const summary = JSON.parse(imp.stdout) as { read: number; written: number; rejected: number; rejects: string }
    expect(summary).toEqual({ read: 11, written: 2, rejected: 9, rejects: `${out}.rejects.jsonl`, warnings: 0 })
    const rejects = readJsonl(summary.rejects) as Array<{ index: number; reason: string; record: unknown }>
    expect(rejects.map((r) => [r.index, r.reason])).toEqual([
      [1, "message 2: a tool call (tool_calls): tool-calling conversations are not supported"],
      [2, "message 1: role \"tool\" is not supported (only system, user and assistant; human and gpt for user and assistant)"],
      [3, "message 1: content is empty"],
      [4, "message 1: content must be a string, got array (a list of content parts is not supported)"],
      [5, "message 1: expected role user, got assistant"],
      [6, "message 1: a second system message (one system message, the first, is read)"],
      [7, "missing field messages (the record has conversations: is it --format eto or --format agentgym?)"],
      [8, "reward must be a number, got string"],
      [10, "truncated last line (no newline at the end): invalid JSON: Unexpected end of JSON input"]
    ])
    expect(rejects[0]!.record).toEqual(lines[1]) // the original value, untouched
    const strict = cli("data", "import", input, "--format", "chat", "--env", "webshop", "--out", tmp("chat-strict.arrows"), "--strict")
    expect(strict.code).not.toBe(0)
    expect(JSON.parse(strict.stdout)).toMatchObject({ read: 11, rejected: 9 })
    expect(strict.stderr.trim().split("\n")).toHaveLength(1)
    expect(strict.stderr).toMatch(/^stepagent: 9 of 11 records rejected/)
  })

  it("warns, naming message 1, when a conversation without a system message lacks the acknowledgement", () => {
    const input = tmp("chat-noack.jsonl")
    const noAck = { id: "n", messages: [{ role: "user", content: "Task: find x" }, { role: "assistant", content: "Thought: a\nAction: search[x]" }, { role: "user", content: "obs" }, { role: "assistant", content: "click[y]" }] }
    NodeFs.writeFileSync(input, `${JSON.stringify(chat("a"))}\n${JSON.stringify(noAck)}\n`)
    const r = cli("data", "import", input, "--format", "chat", "--env", "webshop", "--out", tmp("chat-noack.arrows"))
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ read: 2, written: 2, warnings: 1, firstWarning: 1 })
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/^stepagent: warning: 1 record \(first: index 1\) have an action at message 1 where the acknowledgement belongs/)
  })

  it("refuses an --out that is the input, on import and on export, and leaves the input untouched", () => {
    const sub = NodeFs.mkdtempSync(NodePath.join(dir, "chat-same-"))
    const input = NodePath.join(sub, "in.json")
    const body = JSON.stringify([chat("a")])
    NodeFs.writeFileSync(input, body)
    NodeFs.symlinkSync(input, NodePath.join(sub, "sym.json"))
    const run = (args: Array<string>) =>
      NodeChild.spawnSync(NodePath.join(root, "node_modules/.bin/node"), [NodePath.join(root, "bin/stepagent.ts"), "data", ...args], { cwd: sub, encoding: "utf8" })
    const imp = run(["import", "in.json", "--format", "chat", "--env", "w", "--out", "sym.json"])
    expect(imp.status).not.toBe(0)
    expect(imp.stderr).toMatch(/^stepagent: --out.* is the input file/)
    expect(imp.stderr.trim().split("\n")).toHaveLength(1)
    // An Arrow file named .json, so that the export's --out can name it.
    expect(run(["import", "in.json", "--format", "chat", "--env", "w", "--out", "trajectories.json"]).status).toBe(0)
    const exp = run(["export", "trajectories.json", "--format", "chat", "--out", "trajectories.json"])
    expect(exp.status).not.toBe(0)
    expect(exp.stderr.trim().split("\n")).toHaveLength(1)
    expect(exp.stderr).toMatch(/^stepagent: --out: trajectories\.json is the input file/)
    expect(NodeFs.readFileSync(input, "utf8")).toBe(body)
  })
})

describe("stepagent data import / export --format parquet (CLI)", () => {
  it("imports the Parquet sample, exports it as Parquet, imports that: the same Arrow bytes; a re-export gives the same Parquet bytes", () => {
    const out = tmp("trl.arrows")
    const imp = cli("data", "import", sample("chat-trl.parquet"), "--format", "parquet", "--env", "alfworld", "--out", out)
    expect(imp.stderr).toBe("")
    expect(imp.code).toBe(0)
    expect(JSON.parse(imp.stdout)).toEqual({ read: 3, written: 2, rejected: 1, rejects: `${out}.rejects.jsonl`, warnings: 0, files: 1 })
    expect(readJsonl(`${out}.rejects.jsonl`)).toMatchObject([{ index: 2, reason: expect.stringMatching(/^message 2: role "tool" is not supported/) }])
    const parquet = tmp("trl.parquet")
    const exp = cli("data", "export", out, "--format", "parquet", "--out", parquet)
    expect(exp.code).toBe(0)
    expect(JSON.parse(exp.stdout)).toEqual({ written: 2, out: parquet, format: "parquet" })
    const again = tmp("trl-again.arrows")
    expect(cli("data", "import", parquet, "--format", "parquet", "--env", "other", "--out", again).code).toBe(0)
    expect(NodeFs.readFileSync(again).equals(NodeFs.readFileSync(out))).toBe(true)
    const parquet2 = tmp("trl-again.parquet")
    expect(cli("data", "export", again, "--format", "parquet", "--out", parquet2).code).toBe(0)
    expect(NodeFs.readFileSync(parquet2).equals(NodeFs.readFileSync(parquet))).toBe(true)
  })

  it("gives a one-line error and a non-zero exit for broken files and wrong flags, never a stack trace", async () => {
    const truncated = tmp("cut.parquet")
    NodeFs.writeFileSync(truncated, NodeFs.readFileSync(sample("chat-trl.parquet")).subarray(0, 1000))
    const arrows = tmp("ok.arrows")
    expect(cli("data", "import", sample("chat-alfworld.json"), "--format", "chat", "--env", "w", "--out", arrows).code).toBe(0)
    const cases: Array<[Array<string>, RegExp]> = [
      [["data", "import", truncated, "--format", "parquet", "--env", "w", "--out", tmp("x.arrows")], /cut\.parquet: not a Parquet file \(truncated: it starts as Parquet but its footer is missing\)$/],
      [["data", "import", sample("chat-alfworld.json"), "--format", "parquet", "--env", "w", "--out", tmp("x.arrows")], /not a Parquet file \(it looks like JSON/],
      [["data", "import", arrows, "--format", "parquet", "--env", "w", "--out", tmp("x.arrows")], /ok\.arrows: not a Parquet file/],
      [["data", "import", sample("chat-trl.parquet"), "--format", "parquet", "--input-format", "jsonl", "--env", "w", "--out", tmp("x.arrows")], /--input-format: applies to JSON input/],
      [["data", "import", NodePath.join(dir, "nope-*.parquet"), "--format", "parquet", "--env", "w", "--out", tmp("x.arrows")], /no file matches/],
      [["data", "export", arrows, "--format", "parquet", "--out", tmp("x.jsonl")], /must end with \.parquet \(--format parquet\)/],
      [["data", "export", arrows, "--format", "chat", "--out", tmp("x.parquet")], /must end with \.json or \.jsonl \(for Parquet, give --format parquet\)/]
    ]
    const runs = await Promise.all(cases.map(([args]) => cliAsync(...args)))
    for (const [i, [, message]] of cases.entries()) {
      const r = runs[i]!
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(/^stepagent: /)
      expect(r.stderr.trim()).toMatch(message)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  })
})
