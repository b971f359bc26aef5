import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as NodeZlib from "node:zlib"
import { assert, expect, layer } from "@effect/vitest"
import { fc, test } from "@fast-check/vitest"
import { Context, Effect, Exit, Layer, Result, Stream } from "effect"
import { parquetMetadata } from "hyparquet"
import { type ColumnSource, parquetWriteBuffer, type SchemaElement } from "hyparquet-writer"
import * as ChatFormat from "../../src/data/ChatFormat.ts"
import * as Export from "../../src/data/Export.ts"
import * as Import from "../../src/data/Import.ts"
import * as ParquetWrite from "../../src/data/ParquetWrite.ts"
import * as TrajectoryArrow from "../../src/data/TrajectoryArrow.ts"
import { DataError } from "../../src/domain/DataError.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"
import * as ChatArbitrary from "./ChatArbitrary.ts"

// Parquet files through the real import and export (src/data/Import.ts, Export.ts), in temporary directories.

/** A fresh path (numbered, so never reused) in a temporary directory removed when the layer's scope closes. */
class Tmp extends Context.Service<Tmp, (name: string) => string>()("test/data/ParquetImport/Tmp") {
  /** One directory: per describe block (`layer(Tmp.layer)`), or per property run (`Effect.provide(Tmp.layer)`). */
  static readonly layer = Layer.effect(
    Tmp,
    Effect.acquireRelease(
      Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "parquet-import-"))),
      (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
    ).pipe(Effect.map((dir) => {
      let fileNo = 0
      return (name: string): string => NodePath.join(dir, `${fileNo++}-${name}`)
    }))
  )
}
const sample = NodePath.resolve(import.meta.dirname, "../../data/samples/chat-trl.parquet")

const importAs = (format: Import.Format, input: string, out: string, env = "flag-env") =>
  Import.importFile({ input, format, env, out, layout: format === "parquet" ? undefined : "jsonl" })
const importParquet = (input: string, out: string) => Import.importFile({ input, format: "parquet", env: "flag-env", out })
const importExit = (input: string, out: string) => Effect.exit(importParquet(input, out))
const exportParquet = (input: string, out: string) => Export.exportFile({ input, format: "parquet", out })
const exportChat = (input: string, out: string) => Export.exportFile({ input, format: "chat", out, layout: "jsonl" })
const trajectories = (path: string): Effect.Effect<Array<Trajectory>, DataError> =>
  Stream.runCollect(TrajectoryArrow.read(path)).pipe(Effect.map((c) => Array.from(c)))
const readJsonl = (path: string): Array<{ index: number; reason: string; record: unknown }> =>
  NodeFs.readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { index: number; reason: string; record: unknown })
/** The footer of the Parquet file at `path`. */
const footer = (path: string) => footerOf(NodeFs.readFileSync(path))
/** The footer of these Parquet bytes. */
const footerOf = (b: Buffer<ArrayBuffer>) => parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
const writeArrows = (ts: ReadonlyArray<Trajectory>, path: string) => Stream.fromIterable(ts).pipe(TrajectoryArrow.write(path))

/** The failure of an import, which must be a DataError with a one-line message naming the file. */
const failure = (input: string): Effect.Effect<DataError, Error, Tmp> =>
  Effect.gen(function*() {
    const tmp = yield* Tmp
    const e = yield* Effect.flip(importParquet(input, tmp("never.arrows"))).pipe(
      Effect.mapError((summary) => new Error(`import of ${input} succeeded: ${JSON.stringify(summary)}`))
    )
    assert.instanceOf(e, DataError, `not a DataError: ${String(e)}`)
    expect(e.message.split("\n")).toHaveLength(1)
    return e
  })

// ---------------------------------------------------------------------------------------------------
// Files as TRL / Hugging Face `datasets` write them, made with hyparquet-writer directly (every field
// nullable, struct fields in the order `datasets` saw the keys).

const str = (name: string): SchemaElement => ({ name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" })
const listOf = (name: string, fields: ReadonlyArray<SchemaElement>): Array<SchemaElement> => [
  { name, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { name: "element", repetition_type: "OPTIONAL", num_children: fields.length },
  ...fields
]
type WriteOptions = Partial<Parameters<typeof parquetWriteBuffer>[0]>
/** The bytes of a file of these columns (`schema`: the elements under the root, depth first). */
const parquetBytes = (columns: ReadonlyArray<ColumnSource>, schema: ReadonlyArray<SchemaElement>, options?: WriteOptions): Buffer<ArrayBuffer> =>
  Buffer.from(parquetWriteBuffer({
    columnData: [...columns],
    schema: [{ name: "root", num_children: columns.length }, ...schema],
    ...options
  }))
/** A file of these columns, at a fresh temporary path. */
const parquetFile = (
  name: string,
  columns: ReadonlyArray<ColumnSource>,
  schema: ReadonlyArray<SchemaElement>,
  options?: WriteOptions
): Effect.Effect<string, never, Tmp> =>
  Tmp.useSync((tmp) => {
    const path = tmp(name)
    NodeFs.writeFileSync(path, parquetBytes(columns, schema, options))
    return path
  })

const system = "Solve the task. Answer with Thought: ...\nAction: ..."
const records = [
  {
    messages: [
      { content: system, role: "system" },
      { content: "Your task is to: find a mug.", role: "user" },
      { content: "Thought: on the desk?\nAction: go to desk 1", role: "assistant", weight: 0n },
      { content: "You see a mug 1.", role: "user" },
      { content: "Thought: there.\nAction: take mug 1", role: "assistant", weight: 1n }
    ],
    id: "alfworld_1",
    reward: 1,
    task_id: 17n
  },
  {
    messages: [
      { content: "You are web shopping.", role: "user" },
      { content: "OK", role: "assistant", weight: null },
      { content: "i need a blue wallet", role: "user" },
      { content: "search[blue wallet]", role: "assistant", weight: null }
    ],
    id: null,
    reward: 0.25,
    task_id: null
  }
]
/** The JSON record ChatFormat reads for one of `records` (its int64s as numbers). */
const asJson = (r: (typeof records)[number]) => ({
  messages: r.messages.map((m) => ({ ...m, ...("weight" in m && m.weight !== null ? { weight: Number(m.weight) } : {}) })),
  ...(r.id === null ? {} : { id: r.id }),
  reward: r.reward,
  ...(r.task_id === null ? {} : { task_id: Number(r.task_id) })
})
const expected = records.map((r, i) => Result.getOrThrow(ChatFormat.decode(asJson(r), "flag-env", i)))

const trlColumns = (rows: ReadonlyArray<(typeof records)[number]>): Array<ColumnSource> => [
  { name: "messages", data: rows.map((r) => r.messages) },
  { name: "id", data: rows.map((r) => r.id) },
  { name: "reward", data: rows.map((r) => r.reward) },
  { name: "task_id", data: rows.map((r) => r.task_id) },
  { name: "source", data: rows.map(() => "not read") }
]
const trlSchema: Array<SchemaElement> = [
  ...listOf("messages", [str("content"), str("role"), { name: "weight", type: "INT64", repetition_type: "OPTIONAL" }]),
  str("id"),
  { name: "reward", type: "DOUBLE", repetition_type: "OPTIONAL" },
  { name: "task_id", type: "INT64", repetition_type: "OPTIONAL" },
  str("source")
]

layer(Tmp.layer)("Parquet: round trips", (it) => {
  test.prop([fc.array(ChatArbitrary.validChat, { minLength: 1, maxLength: 8 })], { seed: 151, numRuns: 30 })(
    "chat records -> dataset -> Parquet -> dataset: the same Arrow bytes; exporting that again: the same Parquet bytes",
    (generated) =>
      Effect.runPromise(Effect.gen(function*() {
        const tmp = yield* Tmp
        const jsonl = tmp("in.jsonl")
        NodeFs.writeFileSync(jsonl, generated.map((g) => `${JSON.stringify(g.record)}\n`).join(""))
        const a = tmp("a.arrows")
        const first = yield* importAs("chat", jsonl, a)
        const p1 = tmp("a.parquet")
        expect(yield* exportParquet(a, p1)).toEqual({ written: generated.length, out: p1, format: "parquet" })
        const b = tmp("b.arrows")
        expect(yield* importAs("parquet", p1, b)).toEqual({ ...first, rejects: `${b}.rejects.jsonl`, files: 1 })
        expect(NodeFs.readFileSync(b).equals(NodeFs.readFileSync(a))).toBe(true)
        const p2 = tmp("b.parquet")
        yield* exportParquet(b, p2)
        expect(NodeFs.readFileSync(p2).equals(NodeFs.readFileSync(p1))).toBe(true)
      }).pipe(Effect.provide(Tmp.layer)))
  )

  test.prop([fc.array(ChatArbitrary.trajectory, { minLength: 1, maxLength: 6 })], { seed: 152, numRuns: 20 })(
    "trajectories of any source: Parquet gives back what chat JSONL gives back (rewards, ids, system prompts, weights)",
    (ts) =>
      Effect.runPromise(Effect.gen(function*() {
        const tmp = yield* Tmp
        const arrows = tmp("src.arrows")
        yield* writeArrows(ts.map((t, i) => ({ ...t, id: `t${i}`, reward: i / 4, success: i % 2 === 0 })), arrows)
        const viaChat = tmp("chat.jsonl")
        yield* exportChat(arrows, viaChat)
        const viaParquet = tmp("p.parquet")
        yield* exportParquet(arrows, viaParquet)
        const fromChat = tmp("c.arrows")
        const fromParquet = tmp("p.arrows")
        yield* importAs("chat", viaChat, fromChat)
        expect(yield* importAs("parquet", viaParquet, fromParquet)).toMatchObject({ read: ts.length, written: ts.length, rejected: 0 })
        expect(yield* trajectories(fromParquet)).toEqual(yield* trajectories(fromChat))
        expect(NodeFs.readFileSync(fromParquet).equals(NodeFs.readFileSync(fromChat))).toBe(true)
      }).pipe(Effect.provide(Tmp.layer)))
  )

  it.effect("one row group per trajectory: the same trajectories, in order", () =>
    Effect.gen(function*() {
      const tmp = yield* Tmp
      const ts = fc.sample(ChatArbitrary.trajectory, { numRuns: 12, seed: 153 }).map((t, i) => ({ ...t, id: `t${i}`, source: "chat" }))
      const arrows = tmp("src.arrows")
      yield* writeArrows(ts, arrows)
      const parquet = tmp("groups.parquet")
      yield* TrajectoryArrow.read(arrows).pipe(ParquetWrite.write(parquet, { rowGroupChars: 1 }))
      expect(footer(parquet).row_groups).toHaveLength(12)
      const single = tmp("single.parquet")
      yield* exportParquet(arrows, single)
      const a = tmp("a.arrows")
      const b = tmp("b.arrows")
      yield* importAs("parquet", parquet, a)
      yield* importAs("parquet", single, b)
      expect(NodeFs.readFileSync(a).equals(NodeFs.readFileSync(b))).toBe(true)
    }))

  it.effect("writes the schema TRL reads: messages list<struct<role, content, weight>>, then reward, success, env, task_id", () =>
    Effect.gen(function*() {
      const tmp = yield* Tmp
      const arrows = tmp("one.arrows")
      yield* writeArrows(expected, arrows)
      const parquet = tmp("one.parquet")
      yield* exportParquet(arrows, parquet)
      const meta = footer(parquet)
      expect(meta.schema.map((e) => [e.name, e.type ?? e.converted_type, e.repetition_type])).toEqual([
        ["root", undefined, undefined],
        ["id", "BYTE_ARRAY", "REQUIRED"],
        ["messages", "LIST", "REQUIRED"],
        ["list", undefined, "REPEATED"],
        ["element", undefined, "REQUIRED"],
        ["role", "BYTE_ARRAY", "REQUIRED"],
        ["content", "BYTE_ARRAY", "REQUIRED"],
        ["weight", "INT32", "OPTIONAL"],
        ["reward", "DOUBLE", "REQUIRED"],
        ["success", "BOOLEAN", "REQUIRED"],
        ["env", "BYTE_ARRAY", "REQUIRED"],
        ["task_id", "BYTE_ARRAY", "REQUIRED"]
      ])
      expect(meta.key_value_metadata).toEqual([{ key: ParquetWrite.layoutKey, value: ParquetWrite.layout }])
    }))
})

layer(Tmp.layer)("Parquet written by other writers", (it) => {
  it.effect("data/samples/chat-trl.parquet (arrow-rs through parquet-wasm, zstd): two trajectories, the tool conversation rejected", () =>
    Effect.gen(function*() {
      const tmp = yield* Tmp
      const out = tmp("trl.arrows")
      expect(yield* importAs("parquet", sample, out, "alfworld")).toEqual({
        read: 3, written: 2, rejected: 1, rejects: `${out}.rejects.jsonl`, warnings: 0, files: 1
      })
      const ts = yield* trajectories(out)
      expect(ts.map((t) => [t.id, t.taskId, t.reward, t.success, t.env, t.steps.length, t.ack, t.finalObservation !== undefined])).toEqual([
        ["alfworld_7", "7", 1, true, "alfworld", 2, undefined, false],
        ["webshop_12", "webshop_12", 0.5, false, "alfworld", 1, "OK", true]
      ])
      expect(ts[0]!.instruction).toMatch(/^Interact with a household/)
      const [reject] = readJsonl(`${out}.rejects.jsonl`)
      expect(reject).toMatchObject({ index: 2, reason: "message 2: role \"tool\" is not supported (only system, user and assistant; human and gpt for user and assistant)" })
      expect(reject!.record).toMatchObject({ id: null, reward: null, task_id: "3" })
    }))

  for (const codec of ["SNAPPY", "GZIP", "BROTLI", "ZSTD", "UNCOMPRESSED"] as const) {
    it.effect(`a TRL-like file (${codec}): every column read as ChatFormat reads the same JSON record; other columns ignored`, () =>
      Effect.gen(function*() {
        const tmp = yield* Tmp
        const input = yield* parquetFile(`trl-${codec}.parquet`, trlColumns(records), trlSchema, {
          codec,
          compressors: {
            GZIP: (b) => new Uint8Array(NodeZlib.gzipSync(b)),
            BROTLI: (b) => new Uint8Array(NodeZlib.brotliCompressSync(b)),
            ZSTD: (b) => new Uint8Array(NodeZlib.zstdCompressSync(b))
          }
        })
        const out = tmp("trl.arrows")
        expect(yield* importAs("parquet", input, out)).toMatchObject({ read: 2, written: 2, rejected: 0 })
        expect(yield* trajectories(out)).toEqual(expected)
      }))
  }

  it.effect("a ShareGPT conversations column (from / value, human / gpt)", () =>
    Effect.gen(function*() {
      const tmp = yield* Tmp
      const conversations = records.map((r) =>
        r.messages.map((m) => ({ from: { system: "system", user: "human", assistant: "gpt" }[m.role]!, value: m.content }))
      )
      const input = yield* parquetFile("sharegpt.parquet", [{ name: "conversations", data: conversations }, { name: "id", data: ["a", "b"] }], [
        ...listOf("conversations", [str("from"), str("value")]),
        str("id")
      ])
      const out = tmp("sharegpt.arrows")
      expect(yield* importAs("parquet", input, out)).toMatchObject({ read: 2, written: 2, rejected: 0 })
      const want = records.map((r, i) =>
        Result.getOrThrow(ChatFormat.decode({ id: ["a", "b"][i], messages: r.messages.map(({ role, content }) => ({ role, content })) }, "flag-env", i))
      )
      expect(yield* trajectories(out)).toEqual(want)
    }))

  it.effect("TRL's prompt-completion shape: completion appended to prompt, messages numbered across both", () =>
    Effect.gen(function*() {
      const tmp = yield* Tmp
      const split = records.map((r) => ({ prompt: r.messages.slice(0, 2).map(({ role, content }) => ({ role, content })), completion: r.messages.slice(2).map(({ role, content }) => ({ role, content })) }))
      split.push({ prompt: [{ role: "system", content: system }], completion: [{ role: "user", content: "hi" }, { role: "tool", content: "x" }] })
      const input = yield* parquetFile("prompt.parquet", [{ name: "prompt", data: split.map((s) => s.prompt) }, { name: "completion", data: split.map((s) => s.completion) }], [
        ...listOf("prompt", [str("role"), str("content")]),
        ...listOf("completion", [str("role"), str("content")])
      ])
      const out = tmp("prompt.arrows")
      expect(yield* importAs("parquet", input, out)).toMatchObject({ read: 3, written: 2, rejected: 1 })
      const want = records.map((r, i) => Result.getOrThrow(ChatFormat.decode({ messages: r.messages.map(({ role, content }) => ({ role, content })) }, "flag-env", i)))
      expect(yield* trajectories(out)).toEqual(want)
      expect(readJsonl(`${out}.rejects.jsonl`)[0]).toMatchObject({ index: 2, reason: expect.stringMatching(/^message 2: role "tool" is not supported/) })
    }))

  it.effect("a directory of shards and a glob: files in name order, rows numbered across them (ids of records without one)", () =>
    Effect.gen(function*() {
      const tmp = yield* Tmp
      const shards = tmp("shards")
      NodeFs.mkdirSync(shards)
      for (const [name, rows] of [["train-00001-of-00002.parquet", [records[1]!]], ["train-00000-of-00002.parquet", [records[0]!, records[1]!]]] as const) {
        NodeFs.copyFileSync(yield* parquetFile(name, trlColumns(rows), trlSchema), NodePath.join(shards, name))
      }
      NodeFs.writeFileSync(NodePath.join(shards, "README.md"), "not a shard")
      for (const input of [shards, NodePath.join(shards, "train-*.parquet")]) {
        const out = tmp("shards.arrows")
        expect(yield* importAs("parquet", input, out)).toMatchObject({ read: 3, written: 3, rejected: 0, files: 2 })
        expect((yield* trajectories(out)).map((t) => t.id)).toEqual(["alfworld_1", "1", "2"])
      }
      const empty = tmp("empty-dir")
      NodeFs.mkdirSync(empty)
      expect((yield* failure(empty)).message).toBe(`${empty}: a directory with no .parquet file`)
      expect((yield* failure(NodePath.join(shards, "test-*.parquet"))).message).toMatch(/: no file matches$/)
    }))
})

layer(Tmp.layer)("broken Parquet: one line, or a reject with the reason; nothing lost silently", (it) => {
  const goodBytes = parquetBytes(trlColumns(records), trlSchema)

  it.effect("truncated anywhere: NotParquet, one line naming the file", () =>
    Effect.gen(function*() {
      const tmp = yield* Tmp
      for (const cut of [0, 3, 4, 11, 100, goodBytes.length >> 1, goodBytes.length - 9, goodBytes.length - 1]) {
        const path = tmp(`cut-${cut}.parquet`)
        NodeFs.writeFileSync(path, goodBytes.subarray(0, cut))
        const e = yield* failure(path)
        expect(e.reason).toBe("NotParquet")
        expect(e.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not a Parquet file \\((empty file|too short|truncated.*)\\)$`))
      }
      const json = tmp("records.parquet")
      NodeFs.writeFileSync(json, "[{\"messages\": []}]")
      expect((yield* failure(json)).message).toBe(`${json}: not a Parquet file (it looks like JSON: --format eto, agentgym or chat?)`)
    }))

  const wrong: Array<[string, Array<ColumnSource>, Array<SchemaElement>, string]> = [
    ["messages as int", [{ name: "messages", data: [1, 2] }], [{ name: "messages", type: "INT32", repetition_type: "OPTIONAL" }], "column messages is INT32, not a list of messages (structs with string role and content)"],
    ["messages as JSON text", [{ name: "messages", data: ["[]", "[]"] }], [str("messages")], "column messages is string, not a list of messages (structs with string role and content) (JSON text in a string column is not read)"],
    ["no conversation column", [{ name: "text", data: ["a", "b"] }, { name: "label", data: [1, 0] }], [str("text"), { name: "label", type: "INT32", repetition_type: "OPTIONAL" }], "no conversation column (looked for messages, conversations, prompt); its columns: text, label"],
    ["a list of strings", [{ name: "messages", data: [["a"], ["b"]] }], [{ name: "messages", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 }, { name: "list", repetition_type: "REPEATED", num_children: 1 }, str("element")], "column messages is a list of string, not a list of messages (structs with string role and content)"],
    ["role as int", [{ name: "messages", data: [[{ role: 1, content: "x" }], []] }], listOf("messages", [{ name: "role", type: "INT32", repetition_type: "OPTIONAL" }, str("content")]), "column messages: the role of its messages is INT32, not a string"],
    ["no content", [{ name: "messages", data: [[{ role: "user", text: "x" }], []] }], listOf("messages", [str("role"), str("text")]), "column messages: its messages have no content (or value) field"],
    [
      "content parts",
      [{ name: "messages", data: [[{ role: "user", content: ["x"] }], []] }],
      [...listOf("messages", [str("role")]).map((e) => (e.name === "element" ? { ...e, num_children: 2 } : e)), { name: "content", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 }, { name: "list", repetition_type: "REPEATED", num_children: 1 }, str("element")],
      "column messages: the content of its messages is a list, not a string (a list of content parts is not supported)"
    ],
    ["reward as text", [{ name: "messages", data: [records[0]!.messages.map(({ role, content }) => ({ role, content })), []] }, { name: "reward", data: ["1", "0"] }], [...listOf("messages", [str("role"), str("content")]), str("reward")], "column reward is string, not a number"],
    ["success as int", [{ name: "messages", data: [[], []] }, { name: "success", data: [1, 0] }], [...listOf("messages", [str("role"), str("content")]), { name: "success", type: "INT32", repetition_type: "OPTIONAL" }], "column success is INT32, not a boolean"]
  ]
  for (const [what, columns, schema, problem] of wrong) {
    it.effect(`wrong schema (${what}): WrongSchema, before anything is written`, () =>
      Effect.gen(function*() {
        const tmp = yield* Tmp
        const path = yield* parquetFile("wrong.parquet", columns, schema)
        const out = tmp("wrong.arrows")
        const exit = yield* importExit(path, out)
        expect(Exit.isFailure(exit)).toBe(true)
        const e = yield* failure(path)
        expect(e.reason).toBe("WrongSchema")
        expect(e.message).toBe(`${path}: ${problem}`)
        expect(NodeFs.existsSync(out)).toBe(false)
      }))
  }

  it.effect("a codec that cannot be read (LZ4_RAW): WrongSchema naming the column and the codec", () =>
    Effect.gen(function*() {
      const path = yield* parquetFile("lz4.parquet", trlColumns(records), trlSchema, { codec: "LZ4_RAW", compressors: { LZ4_RAW: (b) => b } })
      expect((yield* failure(path)).message).toMatch(/: column messages\.list\.element\.\w+ is compressed with LZ4_RAW, which cannot be read \(uncompressed, snappy, gzip, brotli or zstd\)$/)
    }))

  it.effect("rows that break the chat rules are rejected with ChatFormat's reasons: unknown roles, empty content, tool calls, nulls, bytes that are not UTF-8, integers past 2^53", () =>
    Effect.gen(function*() {
      const tmp = yield* Tmp
      const ok = records[0]!.messages.map(({ role, content }) => ({ role, content, tool_calls: null as unknown }))
      const rows: Array<{ messages: unknown; reward: bigint | null }> = [
        { messages: ok, reward: 1n },
        { messages: ok.map((m, i) => (i === 3 ? { ...m, role: "tool" } : m)), reward: null },
        { messages: ok.map((m, i) => (i === 1 ? { ...m, content: "" } : m)), reward: null },
        { messages: ok.map((m, i) => (i === 2 ? { ...m, tool_calls: [{ id: "c1", name: "search" }] } : m)), reward: null },
        { messages: null, reward: null },
        { messages: [], reward: null },
        { messages: ok.map((m, i) => (i === 4 ? { ...m, content: Uint8Array.of(0x41, 0xff, 0x42) } : m)), reward: null },
        { messages: ok, reward: 2n ** 60n }
      ]
      const path = yield* parquetFile("rows.parquet", [{ name: "messages", data: rows.map((r) => r.messages) }, { name: "reward", data: rows.map((r) => r.reward) }], [
        { name: "messages", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        { name: "element", repetition_type: "OPTIONAL", num_children: 3 },
        str("role"),
        str("content"),
        ...listOf("tool_calls", [str("id"), str("name")]),
        { name: "reward", type: "INT64", repetition_type: "OPTIONAL" }
      ])
      const out = tmp("rows.arrows")
      expect(yield* importAs("parquet", path, out)).toMatchObject({ read: 8, written: 1, rejected: 7 })
      expect(readJsonl(`${out}.rejects.jsonl`).map((r) => [r.index, r.reason])).toEqual([
        [1, "message 3: role \"tool\" is not supported (only system, user and assistant; human and gpt for user and assistant)"],
        [2, "message 1: content is empty"],
        [3, "message 2: a tool call (tool_calls): tool-calling conversations are not supported"],
        [4, "messages must be an array, got null"],
        [5, "messages is empty"],
        [6, "message 4: content is not UTF-8"],
        [7, "reward is an integer beyond 2^53 (1152921504606846976), which a double cannot hold"]
      ])
      expect((yield* trajectories(out))[0]!.reward).toBe(1)
    }))

  it.effect("a row group whose pages are corrupt: each of its rows rejected with the reason; the other groups read", () =>
    Effect.gen(function*() {
      const tmp = yield* Tmp
      const rows = [records[0]!, records[0]!, records[0]!, records[1]!, records[1]!]
      const path = yield* parquetFile("corrupt.parquet", trlColumns(rows), trlSchema, { rowGroupSize: [3, 2] })
      const bytes = NodeFs.readFileSync(path)
      const meta = footer(path)
      // Garbage over the first page of group 0's messages content: its header (sizes, encoding) and data.
      const chunk = meta.row_groups[0]!.columns.find((c) => c.meta_data?.path_in_schema.join(".") === "messages.list.element.content")!
      const at = Number(chunk.meta_data!.dictionary_page_offset ?? chunk.meta_data!.data_page_offset)
      bytes.fill(0xee, at, at + 24)
      NodeFs.writeFileSync(path, bytes)
      const out = tmp("corrupt.arrows")
      const summary = yield* importAs("parquet", path, out)
      expect(summary).toMatchObject({ read: 5, written: 2, rejected: 3 })
      const rejects = readJsonl(`${out}.rejects.jsonl`)
      expect(rejects.map((r) => r.index)).toEqual([0, 1, 2])
      for (const r of rejects) {
        expect(r.reason).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: row group 0 \\(rows 0-2 of the file\\) cannot be decoded: `))
        expect(r.record).toBeNull()
      }
      expect((yield* trajectories(out)).map((t) => t.id)).toEqual(["3", "4"])
    }))

  // Only the footer: random bytes inside page data can make hyparquet's level decoder loop (its RLE
  // reader trusts the counts it reads); page headers and footers are checked first (ParquetGuard.ts).
  const footerStart = goodBytes.length - 8 - goodBytes.readUInt32LE(goodBytes.length - 8)
  test.prop([fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })], { seed: 154, numRuns: 100 })(
    "any bytes of the footer changed: a one-line DataError, or read == written + rejected with a reason for each reject",
    (changes) =>
      Effect.runPromise(Effect.gen(function*() {
        const tmp = yield* Tmp
        const bytes = Uint8Array.from(goodBytes)
        for (const [at, b] of changes) bytes[footerStart + (at % (bytes.length - footerStart))] = b
        const path = tmp("fuzz.parquet")
        NodeFs.writeFileSync(path, bytes)
        const out = tmp("fuzz.arrows")
        const exit = yield* importExit(path, out)
        if (Exit.isFailure(exit)) {
          yield* failure(path)
          return
        }
        const s = exit.value
        expect(s.read).toBe(s.written + s.rejected)
        const rejects = readJsonl(`${out}.rejects.jsonl`)
        expect(rejects).toHaveLength(s.rejected)
        for (const r of rejects) expect(r.reason).not.toBe("")
      }).pipe(Effect.provide(Tmp.layer)))
  )

  it.effect("a corrupt page header (sizes, value counts) is a reason, not a hang: every header byte of the first page, changed", () =>
    Effect.gen(function*() {
      const tmp = yield* Tmp
      const meta = footerOf(goodBytes)
      const first = Math.min(...meta.row_groups[0]!.columns.map((c) => Number(c.meta_data!.dictionary_page_offset ?? c.meta_data!.data_page_offset)))
      for (let at = first; at < first + 12; at++) {
        for (const b of [0x00, 0x7f, 0xff]) {
          const bytes = Uint8Array.from(goodBytes)
          bytes[at] = b
          const path = tmp("header.parquet")
          NodeFs.writeFileSync(path, bytes)
          const out = tmp("header.arrows")
          const exit = yield* importExit(path, out)
          if (Exit.isFailure(exit)) yield* failure(path)
          else expect(exit.value.read).toBe(exit.value.written + exit.value.rejected)
        }
      }
    }))
})
