import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { fc, test } from "@fast-check/vitest"
import { Effect, Exit, Stream } from "effect"
import * as JsonRecords from "../../src/data/JsonRecords.ts"

const enc = new TextEncoder()
const bytes = (text: string): Uint8Array => enc.encode(text)

/** The items of `text`, split whole and one byte at a time (the splitter must not care about chunking). */
const split = (input: Uint8Array, options: JsonRecords.ReadOptions = {}): Array<JsonRecords.Item> => {
  const whole = JsonRecords.splitAll([input], options)
  const bytewise = JsonRecords.splitAll(Array.from(input, (b) => Uint8Array.of(b)), options)
  expect(bytewise).toEqual(whole)
  return whole
}
const values = (items: ReadonlyArray<JsonRecords.Item>) => items.filter((i) => i._tag === "Record").map((i) => i._tag === "Record" ? i.value : undefined)
const rejects = (items: ReadonlyArray<JsonRecords.Item>) => items.flatMap((i) => (i._tag === "Reject" ? [{ index: i.index, reason: i.reason, record: i.record }] : []))

/** Cuts `input` into chunks at the given (sorted, deduplicated) positions. */
const chunked = (input: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const at = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let prev = 0
  for (const c of at) {
    out.push(input.subarray(prev, c))
    prev = c
  }
  out.push(input.subarray(prev))
  return out
}

// Values as real records are: objects whose strings hold quotes, brackets, commas, escapes, non-ASCII.
const text = fc.string({ unit: fc.oneof(fc.constantFrom("\"", "\\", "[", "]", "{", "}", ",", "\n", "é", "😀", "\u2028"), fc.string({ unit: "grapheme", maxLength: 1 })), maxLength: 12 })
const record = fc.dictionary(text, fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.array(text, { maxLength: 3 })), { maxKeys: 4 })

const jsonl = (rs: ReadonlyArray<unknown>) => rs.map((r) => `${JSON.stringify(r)}\n`).join("")
const jsonArray = (rs: ReadonlyArray<unknown>, pretty: boolean) => (pretty ? JSON.stringify(rs, null, 2) : JSON.stringify(rs))

describe("JsonRecords splitter", () => {
  it("cuts a JSON array at top-level commas, whatever is inside strings", () => {
    const items = split(bytes("[{\"a\":1}, {\"b\":\"x,]y\\\"}\"} ,[1,2], 3]"))
    expect(values(items)).toEqual([{ a: 1 }, { b: "x,]y\"}" }, [1, 2], 3])
    expect(items.map((i) => i.index)).toEqual([0, 1, 2, 3])
  })

  it("detects the layout from the first non-space byte, past a UTF-8 BOM", () => {
    const a = JsonRecords.makeSplitter()
    a.push(bytes("\ufeff \n ["))
    expect(a.layout()).toBe("json")
    const b = JsonRecords.makeSplitter()
    b.push(bytes("  {\"a\":1}\n"))
    expect(b.layout()).toBe("jsonl")
    expect(values(split(bytes("\ufeff[1]")))).toEqual([1])
  })

  it("reads JSONL with blank lines and CRLF endings", () => {
    expect(values(split(bytes("{\"a\":1}\r\n\n  \n{\"b\":2}\r\n")))).toEqual([{ a: 1 }, { b: 2 }])
  })

  it("gives every broken piece a reason, and keeps what decodes", () => {
    expect(rejects(split(bytes("{\"a\":1}\n{bad}\n{\"c\":3}\n")))).toEqual([
      { index: 1, reason: expect.stringMatching(/^invalid JSON: /), record: "{bad}" }
    ])
    expect(rejects(split(bytes("[1,]")))).toEqual([{ index: 1, reason: "invalid JSON: trailing comma before ]", record: "" }])
    expect(rejects(split(bytes("[,1]")))).toEqual([{ index: 0, reason: "invalid JSON: empty array element", record: "" }])
    expect(rejects(split(bytes("[1] x")))).toEqual([{ index: 1, reason: "unexpected data after the closing ] of the array", record: "x" }])
    expect(split(bytes("[]"))).toEqual([])
    expect(split(bytes(" \n "))).toEqual([])
  })

  it("rejects bytes that are not UTF-8, with the text decoded lossily", () => {
    const items = split(Uint8Array.of(...bytes("{\"a\":\""), 0xff, 0xfe, ...bytes("\"}\n{\"b\":1}\n")))
    expect(rejects(items)).toEqual([{ index: 0, reason: "not UTF-8", record: "{\"a\":\"\ufffd\ufffd\"}" }])
    expect(values(items)).toEqual([{ b: 1 }])
  })

  it("rejects a truncated file's partial record and keeps everything before it", () => {
    const jl = split(bytes("{\"a\":1}\n{\"b\":[1,2"))
    expect(values(jl)).toEqual([{ a: 1 }])
    expect(rejects(jl)).toEqual([{ index: 1, reason: expect.stringMatching(/^truncated last line/), record: "{\"b\":[1,2" }])
    const arr = split(bytes("[{\"a\":1},{\"b\":\"xy"))
    expect(values(arr)).toEqual([{ a: 1 }])
    expect(rejects(arr)).toEqual([{ index: 1, reason: expect.stringMatching(/^truncated: the array is never closed: invalid JSON/), record: "{\"b\":\"xy" }])
    // A cut right after a complete element keeps it; the missing `]` is reported on its own.
    expect(rejects(split(bytes("[{\"a\":1}")))).toEqual([{ index: 1, reason: "truncated: the array is never closed (no ] at the end)", record: "" }])
    // A JSONL file without a final newline is not truncated when its last line parses.
    expect(split(bytes("{\"a\":1}"))).toEqual([{ _tag: "Record", index: 0, value: { a: 1 } }])
  })

  it("rejects a record over the limit with its index, keeping only its first bytes", () => {
    const big = `{"a":"${"x".repeat(5000)}"}`
    for (const input of [`{"s":1}\n${big}\n{"t":2}\n`, `[{"s":1},${big},{"t":2}]`]) {
      const items = JsonRecords.splitAll(chunked(bytes(input), [100, 2000, 4000]), { maxRecordBytes: 1000 })
      expect(values(items)).toEqual([{ s: 1 }, { t: 2 }])
      const [r] = rejects(items)
      expect(r!.index).toBe(1)
      expect(r!.reason).toBe("record exceeds 1000 bytes")
      expect(typeof r!.record === "string" && r!.record.length).toBe(1000)
    }
  })

  it("treats a JSON document that is not an array as one record when told it is json", () => {
    expect(split(bytes(" {\"a\":\n 1}\n"), { layout: "json" })).toEqual([{ _tag: "Record", index: 0, value: { a: 1 } }])
  })

  test.prop([fc.array(record, { maxLength: 8 }), fc.constantFrom("jsonl", "json", "json-pretty"), fc.array(fc.nat(), { maxLength: 6 })], { seed: 1, numRuns: 200 })(
    "valid files give back their records exactly, however the bytes are chunked",
    (records, layout, cuts) => {
      const input = bytes(layout === "jsonl" ? jsonl(records) : jsonArray(records, layout === "json-pretty"))
      const items = JsonRecords.splitAll(chunked(input, cuts))
      expect(items).toEqual(records.map((value, index) => ({ _tag: "Record", index, value })))
    }
  )

  const broken = fc.oneof(
    fc.constant("{bad}"),
    fc.constant("{\"a\":1,}"),
    fc.constant("{\"a\" 1}"),
    fc.constant("tru"),
    text.map((t) => `{"a":${JSON.stringify(t)}`), // cut before its closing brace
    fc.constant("{\"a\":\"\\x\"}")
  )
  test.prop([fc.array(fc.oneof(record.map((r) => ({ ok: true as const, r })), broken.map((b) => ({ ok: false as const, b }))), { maxLength: 10 }), fc.boolean()], { seed: 2, numRuns: 200 })(
    "broken records (JSONL lines or array elements) are rejected with a reason, in place; the rest is kept",
    (entries, asArray) => {
      // In an array the broken pieces keep their strings and brackets balanced, as a scanner needs.
      const pieces = entries.map((e) => e.ok ? JSON.stringify(e.r) : asArray && e.b.startsWith("{\"a\":\"") && !e.b.endsWith("}") ? "{\"a\" 1}" : e.b)
      const input = bytes(asArray ? `[${pieces.join(",\n")}]` : pieces.join("\n") + "\n")
      const items = split(input)
      expect(items.length).toBe(entries.length)
      entries.forEach((e, i) => {
        const item = items[i]!
        expect(item.index).toBe(i)
        if (e.ok) expect(item).toEqual({ _tag: "Record", index: i, value: e.r })
        else {
          expect(item._tag).toBe("Reject")
          expect(item._tag === "Reject" && item.reason).toMatch(/^invalid JSON: /)
        }
      })
    }
  )

  it("reads on after a broken array element: the records that follow survive, each reject has its own reason", () => {
    const good = (i: number) => ({ id: `r${i}`, conversations: [{ from: "human", value: `q ${i}, [x]` }] })
    const g = (i: number) => JSON.stringify(good(i))
    // An element cut inside a string: the scanner's quote count is off for the rest of the file.
    for (const input of [
      `[${g(0)}, {"id": "r1", "conversations": [{"from": "hu, ${g(2)}, ${g(3)}]`,
      JSON.stringify([good(0), 0, good(2), good(3)], null, 2).replace("  0,", '  {\n    "id": "r1", "conversations": [{"from": "hu,')
    ]) {
      const items = split(bytes(input))
      expect(values(items)).toEqual([good(0), good(2), good(3)])
      expect(rejects(items)).toEqual([{ index: 1, reason: expect.stringMatching(/^invalid JSON: .*\(read resumed at the next record\)$/), record: expect.stringMatching(/^\{\s*"id": "r1"/) }])
      expect(items.map((i) => i.index)).toEqual([0, 1, 2, 3])
    }
    // An unclosed bracket, and a stray `]` that would otherwise end the array.
    expect(values(split(bytes(`[${g(0)}, {"id": "r1", "conversations": [[, ${g(2)}]`)))).toEqual([good(0), good(2)])
    const stray = split(bytes(`[${g(0)}, {"id": "r1"]], ${g(2)}]`))
    expect(values(stray)).toEqual([good(0), good(2)])
    expect(rejects(stray).length).toBe(1)
    // A broken first element: its own opening tells where the next record starts.
    expect(values(split(bytes(`[{"id": "r0", "x": "cut, ${g(1)}]`)))).toEqual([good(1)])
  })

  it("a broken element that runs past the size limit gives back the records inside it", () => {
    const good = (i: number) => ({ id: `r${i}`, text: "y".repeat(40) })
    const rest = Array.from({ length: 30 }, (_, i) => JSON.stringify(good(i + 2))).join(",")
    const input = bytes(`[${JSON.stringify(good(0))},{"id":"r1","text":"cut,${rest}]`)
    const items = JsonRecords.splitAll(chunked(input, [50, 300, 700, 1500]), { maxRecordBytes: 200 })
    expect(values(items)).toEqual([good(0), ...Array.from({ length: 30 }, (_, i) => good(i + 2))])
    expect(rejects(items).length).toBe(1)
  })

  it("rejects a record nested deeper than the limit before parsing it, in both layouts", () => {
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`
    for (const input of [`{"a":1}\n${deep}\n{"b":2}\n`, `[{"a":1},${deep},{"b":2}]`, `[{"a":1},{"a":${"[".repeat(200)}, {"a":2}]`]) {
      const items = split(bytes(input))
      expect(values(items)).toEqual([{ a: 1 }, input.includes("\"b\"") ? { b: 2 } : { a: 2 }])
      expect(rejects(items)).toEqual([{ index: 1, reason: expect.stringMatching(/nested deeper than 100 levels/), record: expect.any(String) }])
    }
    expect(rejects(split(bytes(`{"a":${"[".repeat(10)}${"]".repeat(10)}}\n`), { maxDepth: 5 }))[0]!.reason).toBe("nested deeper than 5 levels")
    expect(values(split(bytes(`{"a":"${"[".repeat(300)}"}\n`)))).toHaveLength(1) // brackets in strings do not count
  })

  const keyed = fc.record({ id: fc.string({ maxLength: 6 }), body: record })
  test.prop([
    fc.array(fc.tuple(keyed, fc.option(fc.nat(), { nil: undefined })), { minLength: 1, maxLength: 8 }),
    fc.boolean(),
    fc.array(fc.nat(), { maxLength: 6 })
  ], { seed: 4, numRuns: 300 })(
    "array elements cut short anywhere cost only themselves: every whole record that follows is read",
    (entries, pretty, cuts) => {
      // An entry with a cut is written as a prefix of its JSON (a record broken off mid-way).
      const pieces = entries.map(([r, cut]) => {
        const json = pretty ? JSON.stringify(r, null, 2) : JSON.stringify(r)
        return cut === undefined ? json : json.slice(0, cut % json.length)
      })
      const input = bytes(`[${pieces.join(pretty ? ",\n" : ",")}]`)
      const items = JsonRecords.splitAll(chunked(input, cuts))
      const whole = entries.filter(([, cut]) => cut === undefined).map(([r]) => r)
      expect(values(items)).toEqual(whole)
      expect(items.map((i) => i.index)).toEqual(items.map((_, i) => i))
      for (const r of rejects(items)) expect(r.reason.length).toBeGreaterThan(0)
    }
  )

  test.prop([fc.array(record.filter((r) => Object.keys(r).length > 0), { minLength: 1, maxLength: 6 }), fc.nat(), fc.boolean()], { seed: 3, numRuns: 200 })(
    "a file cut anywhere keeps every record before the cut; the partial one is rejected as truncated",
    (records, cutSeed, asArray) => {
      const full = bytes(asArray ? jsonArray(records, false) : jsonl(records))
      const cut = cutSeed % full.length // strictly inside the file
      const items = JsonRecords.splitAll([full.subarray(0, cut)])
      const kept = values(items)
      expect(kept).toEqual(records.slice(0, kept.length))
      const bad = rejects(items)
      expect(bad.length).toBeLessThanOrEqual(1)
      for (const r of bad) expect(r.reason).toMatch(/truncated/)
      if (bad.length === 1) expect(items[items.length - 1]!._tag).toBe("Reject")
      if (asArray && cut > 0) expect(bad.length).toBe(1) // the missing ] is always reported
      expect(items.map((i) => i.index)).toEqual(items.map((_, i) => i))
      // Every record whose bytes end before the cut is kept.
      let end = asArray ? 1 : 0
      let complete = 0
      for (const r of records) {
        end += bytes(JSON.stringify(r)).length
        if (end <= cut) complete++
        end += 1 // the comma or the newline
      }
      expect(kept.length).toBeGreaterThanOrEqual(complete)
    }
  )
})

describe("JsonRecords files", () => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "jsonrecords-"))
  afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))

  it.effect("writes and reads back both layouts, streaming", () =>
    Effect.gen(function*() {
      const records = Array.from({ length: 300 }, (_, i) => ({ id: `r${i}`, text: "é\n\"".repeat(i % 7) }))
      for (const layout of ["json", "jsonl"] as const) {
        const path = NodePath.join(dir, `out.${layout}`)
        const written = yield* Stream.fromIterable(records).pipe(JsonRecords.write(path, layout))
        expect(written).toBe(300)
        const back = yield* Stream.runCollect(JsonRecords.read(path))
        expect(back).toEqual(records.map((value, index) => ({ _tag: "Record", index, value })))
        expect(NodeFs.readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([])
      }
      const empty = NodePath.join(dir, "empty.json")
      yield* Stream.empty.pipe(JsonRecords.write(empty, "json"))
      expect(JSON.parse(NodeFs.readFileSync(empty, "utf8"))).toEqual([])
    }))

  it.effect("skips a record larger than the limit across many read chunks, keeping its neighbours", () =>
    Effect.gen(function*() {
      const path = NodePath.join(dir, "big.jsonl")
      NodeFs.writeFileSync(path, `{"a":1}\n{"big":"${"é".repeat(1_500_000)}"}\n{"b":2}`)
      const items = yield* Stream.runCollect(JsonRecords.read(path, { maxRecordBytes: 1024 * 1024 }))
      expect(values(items)).toEqual([{ a: 1 }, { b: 2 }])
      const [r] = rejects(items)
      expect([r!.index, r!.reason]).toEqual([1, "record exceeds 1048576 bytes"])
      expect(typeof r!.record === "string" && r!.record.startsWith("{\"big\":\"éé")).toBe(true)
    }))

  it.effect("fails with a one-line DataError for a missing file or a directory", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.exit(Stream.runCollect(JsonRecords.read(NodePath.join(dir, "nope.jsonl"))))
      expect(Exit.isFailure(missing) && JSON.stringify(missing.cause)).toMatch(/NotFound/)
      const exit = yield* Effect.flip(Stream.runCollect(JsonRecords.read(dir)))
      expect(exit.message).toBe(`${dir}: is a directory, not a file`)
    }))

  it.effect("leaves no partial file when the stream fails", () =>
    Effect.gen(function*() {
      const path = NodePath.join(dir, "fail.jsonl")
      const exit = yield* Effect.exit(Stream.concat(Stream.make({ a: 1 }), Stream.fail("boom")).pipe(JsonRecords.write(path, "jsonl")))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(NodeFs.existsSync(path)).toBe(false)
      expect(NodeFs.readdirSync(dir).filter((f) => f.startsWith("fail"))).toEqual([])
    }))

  it("maps a path's extension to a layout", () => {
    expect(JsonRecords.layoutOfPath("a.JSONL")).toBe("jsonl")
    expect(JsonRecords.layoutOfPath("a.ndjson")).toBe("jsonl")
    expect(JsonRecords.layoutOfPath("a.json")).toBe("json")
    expect(JsonRecords.layoutOfPath("a.txt")).toBeUndefined()
  })
})
