/**
 * Chat records read from Parquet files, row group by row group: the stream of `JsonRecords.Item`s the
 * import decodes, each row turned into the record ChatFormat.decode reads (`{messages, id?, reward?,
 * success?, env?, task_id?}`), so Parquet rows follow the chat format's rules and reasons, not a copy of them.
 *
 * The input is one file, a directory (every `*.parquet` directly inside it, in name order: Hugging Face's
 * shards `train-00000-of-00004.parquet`, ...), or a glob pattern (quoted, so that the shell leaves it).
 * Rows are numbered from 0 across the files in that order: the index of a reject, and the id of a record
 * without one. Every file is opened and its schema checked before any row is read, so a file without a
 * conversation column, of a wrong column type, not Parquet, or compressed with a codec that cannot be read
 * stops the import with one line before anything is written. A row group that cannot be decoded gives a
 * reject for each of its rows, with the reason (read == written + rejected still holds).
 *
 * Memory: one row group of the chosen columns, decoded, at a time (docs/conversation-formats.md, *Parquet*).
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { Effect, Stream } from "effect"
import { parquetSchema } from "hyparquet"
import { DataError } from "../domain/DataError.ts"
import * as ArrowError from "./ArrowError.ts"
import type * as JsonRecords from "./JsonRecords.ts"
import * as ParquetChatSchema from "./ParquetChatSchema.ts"
import * as ParquetFile from "./ParquetFile.ts"

/** A Parquet input checked: its files, in order, with their row counts. */
export interface Inputs {
  readonly files: ReadonlyArray<string>
  readonly rows: number
}

const isGlob = (input: string): boolean => /[*?[]/.test(input)

/**
 * The files of `input` (see the module comment): a file as it is, a directory's `*.parquet`, a glob's
 * matches; sorted by name. Fails when a directory or a pattern gives no file.
 */
export const files = Effect.fn("ParquetRecords.files")(function*(input: string) {
  const stat = yield* Effect.promise(() => NodeFs.promises.stat(input).then((s) => s, () => undefined))
  if (stat === undefined && isGlob(input)) {
    const matches = yield* Effect.tryPromise({
      try: async () => {
        const out: Array<string> = []
        for await (const p of NodeFs.promises.glob(input)) out.push(p)
        return out
      },
      catch: (e) => ArrowError.ioError(input, e)
    })
    const found = matches.filter((p) => NodeFs.statSync(p, { throwIfNoEntry: false })?.isFile() === true).sort()
    if (found.length === 0) return yield* Effect.fail(new DataError({ reason: "NotFound", path: input, message: `${input}: no file matches` }))
    return found
  }
  if (stat === undefined || !stat.isDirectory()) return [input]
  const names = yield* Effect.tryPromise({ try: () => NodeFs.promises.readdir(input, { withFileTypes: true }), catch: (e) => ArrowError.ioError(input, e) })
  const found = names.filter((d) => d.isFile() && d.name.endsWith(".parquet")).map((d) => NodePath.join(input, d.name)).sort()
  if (found.length === 0) return yield* Effect.fail(new DataError({ reason: "NotFound", path: input, message: `${input}: a directory with no .parquet file` }))
  return found
})

const wrongSchema = (path: string, problem: string): DataError =>
  new DataError({ reason: "WrongSchema", path, message: `${path}: ${problem}` })

/** Opens `file` in the scope: the file and what to read from it, or WrongSchema (columns, types, codecs). */
const openPlanned = (path: string) =>
  Effect.gen(function*() {
    const file = yield* ParquetFile.open(path)
    const planned = yield* Effect.try({
      try: () => ParquetChatSchema.plan(parquetSchema(file.metadata)),
      catch: (e) => new DataError({ reason: "NotParquet", path, message: `${path}: not a Parquet file (its schema is broken: ${e instanceof Error ? e.message : String(e)})` })
    })
    if ("problem" in planned) return yield* Effect.fail(wrongSchema(path, planned.problem))
    const codec = ParquetFile.unsupportedCodec(file.metadata, planned.plan.columns)
    if (codec !== undefined) {
      return yield* Effect.fail(wrongSchema(path, `column ${codec.column} is compressed with ${codec.codec}, which cannot be read (${ParquetFile.readableCodecs})`))
    }
    return { file, plan: planned.plan }
  })

/** Checks every file (see the module comment) before any row is read; their rows, in all. */
export const check = Effect.fn("ParquetRecords.check")(function*(paths: ReadonlyArray<string>) {
  let rows = 0
  for (const path of paths) {
    const { file } = yield* Effect.scoped(openPlanned(path))
    rows += Number(file.metadata.num_rows)
  }
  const inputs: Inputs = { files: paths, rows }
  return inputs
})

// ---------------------------------------------------------------------------------------------------
// Rows -> records

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER)

/** Whether a decoded value needs a look: anything but a string, a number, a boolean or null. */
const needsLook = (v: unknown): boolean => v === undefined || (v !== null && (typeof v === "object" || typeof v === "bigint"))

/**
 * Makes a value decoded by hyparquet plain JSON-like data, in place (strings, numbers, booleans and
 * nulls, the most of any row, are not touched): integers (bigint) as numbers, timestamps as ISO text,
 * undefined as null. An integer past 2^53 or text that is not UTF-8 is a problem, named by its place.
 */
class Plain {
  problem: string | undefined = undefined
  private readonly path: Array<string | number> = []

  value(v: unknown): unknown {
    if (!needsLook(v)) return v
    if (v === undefined) return null
    if (typeof v === "bigint") {
      if (v <= maxSafe && v >= -maxSafe) return Number(v)
      this.fail(`is an integer beyond 2^53 (${v}), which a double cannot hold`)
      return v.toString()
    }
    if (v instanceof ParquetFile.NotUtf8) {
      this.fail("is not UTF-8")
      return v.text
    }
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString()
    if (ArrayBuffer.isView(v)) return Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!needsLook(v[i])) continue
        this.path.push(i)
        v[i] = this.value(v[i])
        this.path.pop()
      }
      return v
    }
    const o = v as Record<string, unknown>
    for (const key in o) {
      if (!needsLook(o[key])) continue
      this.path.push(key)
      o[key] = this.value(o[key])
      this.path.pop()
    }
    return o
  }

  /** The first problem's reason, in ChatFormat's words: `message 3: content is not UTF-8`, `id is ...`. */
  private fail(what: string): void {
    if (this.problem !== undefined) return
    const [top, index, ...rest] = this.path
    this.problem = top === "messages" && typeof index === "number"
      ? rest.length === 0 ? `message ${index} ${what}` : `message ${index}: ${rest.join(".")} ${what}`
      : `${[top, index, ...rest].filter((p) => p !== undefined).join(".")} ${what}`
  }
}

/** An id column's integer as its decimal text (exact past 2^53, where ChatFormat would read a number). */
const idText = (v: unknown): unknown => (typeof v === "bigint" ? v.toString() : v)

/**
 * Row `row` (the `index`-th of the input) as the chat record ChatFormat decodes, or a reject. `look`:
 * whether its values may need making plain (the plan's columns are rich, or its group had text that is
 * not UTF-8); a row of strings, numbers and booleans is used as it is.
 */
export const toItem = (row: Record<string, unknown>, plan: ParquetChatSchema.Plan, index: number, look = true): JsonRecords.Item => {
  const record: Record<string, unknown> = {}
  let messages = row[plan.conversation]
  if (plan.completion !== undefined) {
    const completion = row[plan.completion]
    if (!Array.isArray(messages) || !Array.isArray(completion)) {
      const name = !Array.isArray(messages) ? plan.conversation : plan.completion
      new Plain().value(row) // the reject's record as JSON can hold it
      return { _tag: "Reject", index, reason: `${name} is null (a prompt and its completion are read together)`, record: row }
    }
    messages = [...messages, ...completion]
  }
  record.messages = messages
  for (const name of plan.fields) record[name] = name === "id" || name === "task_id" ? idText(row[name]) : row[name]
  if (!look) return { _tag: "Record", index, value: record }
  const plain = new Plain()
  plain.value(record)
  if (plain.problem !== undefined) return { _tag: "Reject", index, reason: plain.problem, record }
  return { _tag: "Record", index, value: record }
}

/** Every row of a row group that cannot be decoded, as a reject with the reason. */
function* groupRejects(first: number, count: number, reason: string): Generator<JsonRecords.Item> {
  for (let i = 0; i < count; i++) yield { _tag: "Reject", index: first + i, reason, record: null }
}

/**
 * The records of the checked files, row group by row group (see the module comment); rows are numbered
 * from 0 across the files.
 */
export const read = (inputs: Inputs): Stream.Stream<JsonRecords.Item, DataError> =>
  Stream.suspend(() => {
    let base = 0
    const fileItems = (path: string) =>
      Stream.unwrap(Effect.map(openPlanned(path), ({ file, plan }) => {
        const first = base
        base += Number(file.metadata.num_rows)
        return Stream.fromIterable(ParquetFile.rowGroups(file.metadata).map((g, i) => ({ ...g, group: i }))).pipe(
          Stream.filter((g) => g.end > g.start),
          Stream.mapEffect((g) =>
            ParquetFile.readRows(file, plan.columns, g.group, g.start, g.end).pipe(
              Effect.match({
                onFailure: (e): Iterable<JsonRecords.Item> => groupRejects(first + g.start, g.end - g.start, e.message),
                onSuccess: ({ rows, notUtf8 }): Iterable<JsonRecords.Item> =>
                  rows.map((row, i) => toItem(row, plan, first + g.start + i, plan.rich || notUtf8))
              })
            )
          ),
          Stream.flattenIterable
        )
      }))
    return Stream.fromIterable(inputs.files).pipe(Stream.flatMap(fileItems))
  })
