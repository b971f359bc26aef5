/**
 * Hostile input for the importers' fuzz suite (test/data/Fuzz.test.ts at a small size,
 * `npm run bench -- --only fuzz` at 10,000+ hostile records per format): valid conversation records
 * mixed with records broken every way seen in real files or reachable by a careless or malicious
 * writer. Seeded (fast-check `sample`), so a failure replays exactly.
 *
 * A valid record's id starts with `v-` and is unique; a hostile one's starts with `h-`. Some hostile
 * records still decode (duplicate keys, `__proto__`, a missing acknowledgement): the checks only ask
 * that every valid record survives, whole, and that the counts add up.
 */
import { fc } from "@fast-check/vitest"

export type Format = "eto" | "agentgym"
export type Layout = "json" | "jsonl"

export interface Entry {
  readonly kind: "valid" | "hostile"
  /** What the hostile entry is (for figures); "valid" for valid ones. */
  readonly what: string
  /** The entry's bytes, as they go between separators. */
  readonly bytes: Uint8Array
  /** A valid entry's record, as it must come back from an export. */
  readonly record?: Record<string, unknown>
}

const enc = new TextEncoder()
const utf8 = (s: string): Uint8Array => enc.encode(s)

// Text as real observations hold it: quotes, brackets, commas, escapes, newlines, non-ASCII, emoji.
const text = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("\"", "\\", "[", "]", "{", "}", ",", ":", "\n", "\t", "é", "😀", "\u2028", "Action: ") },
    { weight: 7, arbitrary: fc.string({ unit: "grapheme", maxLength: 1 }) }
  ),
  maxLength: 40
})

const idField = (format: Format): string => (format === "eto" ? "id" : "item_id")

/** A valid record of `format` with id `v-<n>`: prompt, acknowledgement, 1-4 steps, maybe a last observation. */
const validRecord = (format: Format, n: number) =>
  fc.record({
    steps: fc.array(fc.tuple(text, text, fc.boolean()), { minLength: 1, maxLength: 4 }),
    last: fc.option(text, { nil: undefined }),
    reward: fc.constantFrom(0, 0.5, 1)
  }).map(({ last, reward, steps }): Record<string, unknown> => {
    const turns: Array<[string, string]> = [["human", "You are an agent. Solve the task."], ["gpt", "OK"]]
    for (const [o, a, thought] of steps) {
      const action = a.trim() === "" ? "look" : a.replaceAll("\n", " ").trim()
      turns.push(["human", o], ["gpt", thought ? `Thought: t\nAction: ${action}` : action.replace(/^Thought:/, "T")])
    }
    if (last !== undefined) turns.push(["human", last])
    const conversations = format === "eto"
      ? turns.map(([from, value]) => ({ from, value }))
      : turns.map(([from, value], i) => ({ from, loss: i % 2 === 0 ? null : i > 1, value }))
    return format === "eto"
      ? { id: `v-${n}`, conversations, reward }
      : { item_id: `v-${n}`, conversations, reward, success: reward >= 1 }
  })

const deep = (depth: number, open: string, close: string): string => `${open.repeat(depth)}${close.repeat(depth)}`

/** Hostile entries: each a (what, bytes) pair built from a valid-looking base record. */
const hostile = (format: Format, n: number): fc.Arbitrary<Entry> => {
  const key = idField(format)
  const base = validRecord(format, n).map((r) => ({ ...r, [key]: `h-${n}` }))
  const json = (what: string) => (r: unknown): Entry => ({ kind: "hostile", what, bytes: utf8(JSON.stringify(r)) })
  const raw = (what: string) => (s: string): Entry => ({ kind: "hostile", what, bytes: utf8(s) })
  return fc.oneof(
    fc.integer({ min: 101, max: 20_000 }).map((d) => raw("deep-array")(deep(d, "[", "]"))),
    fc.integer({ min: 101, max: 5_000 }).map((d) => raw("deep-in-field")(`{"${key}":"h-${n}","conversations":${deep(d, "[{\"a\":", "}]")}}`)),
    fc.tuple(base, fc.nat()).map(([r, at]) => {
      const s = JSON.stringify(r)
      return raw("truncated")(s.slice(0, 1 + (at % (s.length - 1))))
    }),
    fc.tuple(base, fc.nat(), fc.constantFrom(0xff, 0xc3, 0xed, 0x80)).map(([r, at, b]): Entry => {
      const s = utf8(JSON.stringify(r))
      const i = at % s.length
      return { kind: "hostile", what: "not-utf8", bytes: Uint8Array.of(...s.subarray(0, i), b, ...s.subarray(i)) }
    }),
    base.map((r) => raw("reward-1e400")(JSON.stringify({ ...r, reward: 0 }).replace("\"reward\":0", "\"reward\":1e400"))),
    base.map((r) => raw("reward-NaN-literal")(JSON.stringify({ ...r, reward: 0 }).replace("\"reward\":0", "\"reward\":NaN"))),
    fc.tuple(base, fc.constantFrom<unknown>(null, true, {}, [], 1.5e300, "")).map(([r, v]) => json("bad-id")({ ...r, [key]: v })),
    fc.tuple(base, fc.constantFrom<unknown>("x", {}, null, [1, 2], [[]], [null])).map(([r, v]) => json("bad-conversations")({ ...r, conversations: v })),
    fc.tuple(base, fc.constantFrom<unknown>(7, null, ["x"], { a: 1 })).map(([r, v]) =>
      json("bad-turn-value")({ ...r, conversations: (r.conversations as Array<Record<string, unknown>>).map((t, i) => (i === 2 ? { ...t, value: v } : t)) })
    ),
    fc.tuple(base, fc.constantFrom("system", "user", "", "GPT", 3)).map(([r, v]) =>
      json("bad-role")({ ...r, conversations: (r.conversations as Array<Record<string, unknown>>).map((t, i) => (i === 0 ? { ...t, from: v } : t)) })
    ),
    base.map((r) => json("loss-string")({ ...r, conversations: (r.conversations as Array<Record<string, unknown>>).map((t) => ({ ...t, loss: "yes" })) })),
    base.map((r) => json("too-few-turns")({ ...r, conversations: (r.conversations as Array<unknown>).slice(0, 3) })),
    base.map(({ conversations: _, ...r }) => json("no-conversations")(r)),
    base.map((r) => json("no-id")(Object.fromEntries(Object.entries(r).filter(([k]) => k !== key)))),
    base.map((r) => raw("lone-surrogate")(JSON.stringify(r).replace("\"OK\"", "\"O\\ud800K\""))),
    base.map((r) => raw("control-char")(JSON.stringify(r).replace("\"OK\"", "\"O\u0001K\""))),
    base.map((r) => raw("proto-key")(JSON.stringify(r).replace("{", "{\"__proto__\":{\"polluted\":1},\"constructor\":{\"prototype\":{\"x\":1}},"))),
    base.map((r) => raw("duplicate-key")(JSON.stringify(r).replace("{", `{"${key}":{"x":1},`))),
    base.map((r) => json("huge-string")({ ...r, pad: "x".repeat(70_000) })),
    base.map((r) => json("not-an-object")([r])),
    fc.string({ unit: fc.constantFrom("a", " ", "{", "}", "[", "]", "\"", ",", ":", "\\", "1", "n", "é"), minLength: 1, maxLength: 60 })
      .filter((s) => s.trim() !== "")
      .map((s) => raw("junk")(s)),
    fc.constantFrom("NaN", "Infinity", "-Infinity", "undefined", "'x'", "{,}", "[,]", "{\"a\"}", "\u0000", "\ufeff{}")
      .map((s) => raw("literal")(s)),
    base.map((r) => {
      // No prompt + acknowledgement pair: decodes, with a warning.
      const turns = (r.conversations as Array<Record<string, unknown>>).slice(2)
      return json("no-ack")({ ...r, conversations: turns.length >= 4 ? turns : [...turns, ...turns, ...turns, ...turns].slice(0, 4) })
    })
  )
}

/**
 * `count` entries for `format` (about `hostileShare` of them hostile), deterministic in `seed`.
 * Entries are numbered so valid ids never collide.
 */
export const entries = (format: Format, count: number, seed: number, hostileShare = 0.75): Array<Entry> => {
  const arb = fc.nat({ max: 999 }).chain((roll) =>
    roll < hostileShare * 1000
      ? fc.nat().chain((n) => hostile(format, n))
      : fc.constant(undefined)
  )
  const picks = fc.sample(arb, { seed, numRuns: count })
  const out: Array<Entry> = []
  const valids = fc.sample(fc.integer().chain((n) => validRecord(format, n)), { seed: seed + 1, numRuns: count })
  picks.forEach((p, i) => {
    if (p !== undefined) {
      out.push(p)
      return
    }
    const record = { ...valids[i]!, [idField(format)]: `v-${i}` }
    out.push({ kind: "valid", what: "valid", bytes: utf8(JSON.stringify(record)), record })
  })
  return out
}

/** The file's bytes: a JSON array (one element a line) or JSONL. */
export const fileBytes = (list: ReadonlyArray<Entry>, layout: Layout): Uint8Array => {
  const parts: Array<Uint8Array> = []
  const sep = utf8(layout === "json" ? ",\n" : "\n")
  if (layout === "json") parts.push(utf8("[\n"))
  list.forEach((e, i) => {
    if (i > 0) parts.push(sep)
    parts.push(layout === "jsonl" ? e.bytes.map((b) => (b === 0x0a ? 0x20 : b)) : e.bytes)
  })
  parts.push(utf8(layout === "json" ? "\n]\n" : "\n"))
  return Buffer.concat(parts)
}
