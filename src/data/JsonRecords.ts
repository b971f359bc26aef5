/**
 * Streaming JSON records: a JSON array file (`[rec, rec, ...]`) or JSONL (one record a line) read as a
 * stream of records with bounded memory, and a stream of records written back in either layout.
 *
 * Reading works on bytes: the input is never decoded or parsed whole. Lines are split on the 0x0A byte;
 * array elements are cut at top-level commas by a scanner that tracks nesting depth, strings and escapes.
 * Each record's bytes are then decoded as UTF-8 with a fatal decoder and parsed with `JSON.parse`.
 * A record that cannot be read (not UTF-8, invalid JSON, larger than the limit, cut by the end of the
 * file) becomes a `Reject` with its index and a reason: nothing is dropped silently. A record larger than
 * the limit is skipped without buffering more than the limit (only its first bytes are kept, for the reason).
 */
import * as NodeFs from "node:fs"
import { Effect, Stream } from "effect"
import { DataError } from "../domain/DataError.ts"

/** `json`: one JSON array whose elements are the records; `jsonl`: one record a line. */
export type Layout = "json" | "jsonl"

export interface ReadOptions {
  /** Undefined: detect from the first non-space byte (`[` is a JSON array, anything else JSONL). */
  readonly layout?: Layout | undefined
  readonly maxRecordBytes?: number | undefined
}

// 64 MiB: far above any real trajectory, yet small enough that one record cannot exhaust memory.
export const defaultMaxRecordBytes = 64 * 1024 * 1024

// 1 MiB reads: few enough system calls to stream at disk speed, small next to the memory bound.
const readChunkBytes = 1024 * 1024

// 1 KiB of an oversized record is kept in its reject, enough to recognise it.
const prefixBytes = 1024

/** One record of the input, by its 0-based position among the file's records. */
export type Item =
  | { readonly _tag: "Record"; readonly index: number; readonly value: unknown }
  | {
    readonly _tag: "Reject"
    readonly index: number
    readonly reason: string
    /** The original text when it was not valid JSON (or its first bytes when it was too large). */
    readonly record: unknown
  }

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const lossyDecoder = new TextDecoder("utf-8", { ignoreBOM: true })

const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, " ")
  return flat.length > max ? `${flat.slice(0, max)}...` : flat
}

const concat = (parts: ReadonlyArray<Uint8Array>, total: number): Uint8Array => {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** A copy of the first `n` bytes of `parts` (fewer if they hold fewer). */
const head = (parts: ReadonlyArray<Uint8Array>, n: number): Uint8Array => {
  const out = new Uint8Array(Math.min(n, parts.reduce((k, p) => k + p.length, 0)))
  let at = 0
  for (const p of parts) {
    if (at >= out.length) break
    const take = p.subarray(0, out.length - at)
    out.set(take, at)
    at += take.length
  }
  return out
}

const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09

const isBlank = (bytes: Uint8Array): boolean => {
  for (let i = 0; i < bytes.length; i++) if (!isSpace(bytes[i]!)) return false
  return true
}

/**
 * Decodes one record's bytes: UTF-8 (fatal), then JSON. `truncated` names why the record may be cut
 * (the end of the file came first); it prefixes the reason when the record does not parse.
 */
export const decodeRecord = (index: number, bytes: Uint8Array, truncated?: string): Item => {
  let text: string
  try {
    text = fatalDecoder.decode(bytes)
  } catch {
    return { _tag: "Reject", index, reason: truncated === undefined ? "not UTF-8" : `${truncated}: not UTF-8`, record: lossyDecoder.decode(bytes) }
  }
  try {
    return { _tag: "Record", index, value: JSON.parse(text) }
  } catch (e) {
    const why = `invalid JSON: ${oneLine(e instanceof Error ? e.message : String(e), 200)}`
    return { _tag: "Reject", index, reason: truncated === undefined ? why : `${truncated}: ${why}`, record: text }
  }
}

/** Incremental splitter: feed byte chunks with `push`, then call `end`; each call returns the items completed. */
export interface Splitter {
  readonly push: (chunk: Uint8Array) => Array<Item>
  readonly end: () => Array<Item>
  /** The layout in use: the one given, or the one detected (undefined until the first non-space byte). */
  readonly layout: () => Layout | undefined
}

type Mode = "detect" | "jsonl" | "array" | "after" | "whole"

const BOM = [0xef, 0xbb, 0xbf]

/** A pure, synchronous splitter over bytes; `read` drives it from a file. */
export const makeSplitter = (options: ReadOptions = {}): Splitter => {
  const max = options.maxRecordBytes ?? defaultMaxRecordBytes
  let mode: Mode = "detect"
  let detected: Layout | undefined = options.layout
  let offset = 0 // bytes seen before the current chunk (for the BOM)
  let index = 0
  // The record being collected: views into the input chunks, or (once over the limit) only its first bytes.
  let parts: Array<Uint8Array> = []
  let size = 0
  let oversized: Uint8Array | undefined
  let started = false // array mode: the current element has a non-space byte
  let depth = 0
  let inString = false
  let escape = false
  let sawComma = false // array mode: a top-level comma was seen (a `]` right after one is a trailing comma)
  let trailing: Uint8Array | undefined // array mode: the first bytes after the closing `]`

  const append = (part: Uint8Array): void => {
    if (part.length === 0) return
    if (oversized !== undefined) {
      size += part.length
      return
    }
    if (size + part.length > max) {
      oversized = head([...parts, part], Math.min(prefixBytes, max))
      parts = []
      size += part.length
      return
    }
    parts.push(part)
    size += part.length
  }

  const reset = (): void => {
    parts = []
    size = 0
    oversized = undefined
    started = false
    depth = 0
    inString = false
    escape = false
  }

  /** Emits the collected record (if any) and resets. `truncated` when the file ended inside it. */
  const finish = (out: Array<Item>, truncated?: string): void => {
    if (oversized !== undefined) {
      out.push({ _tag: "Reject", index: index++, reason: `record exceeds ${max} bytes`, record: lossyDecoder.decode(oversized) })
    } else if (size > 0) {
      const bytes = concat(parts, size)
      if (!isBlank(bytes)) out.push(decodeRecord(index++, bytes, truncated))
    }
    reset()
  }

  const pushJsonl = (chunk: Uint8Array, from: number, out: Array<Item>): void => {
    let pos = from
    while (pos < chunk.length) {
      const nl = chunk.indexOf(0x0a, pos)
      if (nl < 0) {
        append(chunk.subarray(pos))
        return
      }
      append(chunk.subarray(pos, nl))
      finish(out)
      pos = nl + 1
    }
  }

  const pushArray = (chunk: Uint8Array, from: number, out: Array<Item>): void => {
    let segment = started ? from : -1 // where the current element's bytes start in this chunk
    for (let i = from; i < chunk.length; i++) {
      const b = chunk[i]!
      if (inString) {
        if (escape) escape = false
        else if (b === 0x5c) escape = true
        else if (b === 0x22) inString = false
        continue
      }
      if (b === 0x2c || b === 0x5d) { // , or ]
        if (depth > 0) {
          if (b === 0x5d) depth--
          continue
        }
        if (segment >= 0) append(chunk.subarray(segment, i))
        segment = -1
        if (started || oversized !== undefined) finish(out)
        else if (b === 0x2c) out.push({ _tag: "Reject", index: index++, reason: "invalid JSON: empty array element", record: "" })
        else if (sawComma) out.push({ _tag: "Reject", index: index++, reason: "invalid JSON: trailing comma before ]", record: "" })
        reset()
        if (b === 0x2c) {
          sawComma = true
          continue
        }
        mode = "after"
        pushAfter(chunk, i + 1)
        return
      }
      if (isSpace(b)) continue
      if (!started) {
        started = true
        segment = i
      }
      if (b === 0x22) inString = true
      else if (b === 0x7b || b === 0x5b) depth++
      else if (b === 0x7d && depth > 0) depth--
    }
    if (segment >= 0) append(chunk.subarray(segment))
  }

  const pushAfter = (chunk: Uint8Array, from: number): void => {
    for (let i = from; i < chunk.length; i++) {
      if (isSpace(chunk[i]!)) continue
      if (trailing === undefined) trailing = chunk.slice(i, i + prefixBytes)
      return
    }
  }

  const push = (chunk: Uint8Array): Array<Item> => {
    const out: Array<Item> = []
    let from = 0
    if (mode === "detect") {
      for (; from < chunk.length; from++) {
        const b = chunk[from]!
        if (offset + from < 3 && b === BOM[offset + from]) continue
        if (isSpace(b)) continue
        if (detected === undefined) detected = b === 0x5b ? "json" : "jsonl"
        if (detected === "jsonl") mode = "jsonl"
        else if (b === 0x5b) {
          mode = "array"
          from++
        } else mode = "whole" // a JSON file that is not an array: the whole file is one record
        break
      }
    }
    offset += chunk.length
    if (mode === "jsonl") pushJsonl(chunk, from, out)
    else if (mode === "array") pushArray(chunk, from, out)
    else if (mode === "whole") append(chunk.subarray(from))
    else if (mode === "after") pushAfter(chunk, from)
    return out
  }

  const end = (): Array<Item> => {
    const out: Array<Item> = []
    if (mode === "jsonl") {
      finish(out, "truncated last line (no newline at the end)")
    } else if (mode === "whole") {
      finish(out, "truncated")
    } else if (mode === "array") {
      // The last element is kept when it parses (a cut right after it); the missing `]` is reported either way.
      const before = out.length
      if (started || oversized !== undefined) finish(out, "truncated: the array is never closed")
      if (out.length === before || out[before]!._tag === "Record") {
        out.push({ _tag: "Reject", index: index++, reason: "truncated: the array is never closed (no ] at the end)", record: "" })
      }
    } else if (mode === "after" && trailing !== undefined) {
      out.push({
        _tag: "Reject",
        index: index++,
        reason: "unexpected data after the closing ] of the array",
        record: lossyDecoder.decode(trailing)
      })
    }
    reset()
    return out
  }

  return { push, end, layout: () => detected }
}

/** Splits whole byte chunks (tests, small inputs): the same items `read` gives for a file of these bytes. */
export const splitAll = (chunks: Iterable<Uint8Array>, options: ReadOptions = {}): Array<Item> => {
  const splitter = makeSplitter(options)
  const out: Array<Item> = []
  for (const c of chunks) for (const item of splitter.push(c)) out.push(item)
  for (const item of splitter.end()) out.push(item)
  return out
}

const errnoOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

/** A one-line DataError for a file-system failure on `path`. */
export const ioError = (path: string, e: unknown): DataError => {
  const code = errnoOf(e)
  if (code === "ENOENT") return new DataError({ reason: "NotFound", path, message: `${path}: no such file` })
  if (code === "EISDIR") return new DataError({ reason: "Io", path, message: `${path}: is a directory, not a file` })
  if (code === "EACCES") return new DataError({ reason: "Io", path, message: `${path}: permission denied` })
  const text = e instanceof Error ? e.message : String(e)
  return new DataError({ reason: "Io", path, message: `${path}: ${oneLine(text, 200)}` })
}

/** A one-line DataError for a file that could not be created at `path`. */
export const createError = (path: string, e: unknown): DataError =>
  errnoOf(e) === "ENOENT"
    ? new DataError({ reason: "Io", path, message: `${path}: cannot create the file: its directory does not exist` })
    : ioError(path, e)

const openRead = (path: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const handle = await NodeFs.promises.open(path, "r")
        const stat = await handle.stat()
        if (stat.isDirectory()) {
          await handle.close()
          throw Object.assign(new Error("is a directory"), { code: "EISDIR" })
        }
        return handle
      },
      catch: (e) => ioError(path, e)
    }),
    (handle) => Effect.promise(() => handle.close().catch(() => undefined))
  )

const isNonEmpty = <A>(xs: Array<A>): xs is [A, ...Array<A>] => xs.length > 0

// Batches go downstream whole (flattenArray): one stream chunk per file chunk, far less garbage than a stream per batch.
async function* itemBatches(handle: NodeFs.promises.FileHandle, options: ReadOptions): AsyncGenerator<readonly [Item, ...Array<Item>]> {
  const splitter = makeSplitter(options)
  for (;;) {
    // A fresh buffer each read: records in progress keep views into earlier chunks.
    const buffer = new Uint8Array(readChunkBytes)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null)
    if (bytesRead === 0) break
    const items = splitter.push(buffer.subarray(0, bytesRead))
    if (isNonEmpty(items)) yield items
  }
  const last = splitter.end()
  if (isNonEmpty(last)) yield last
}

/** Streams the records of a JSON array or JSONL file, lazily, in file order. */
export const read = (path: string, options: ReadOptions = {}): Stream.Stream<Item, DataError> =>
  Stream.scoped(Stream.unwrap(Effect.map(openRead(path), (handle) =>
    Stream.fromAsyncIterable(itemBatches(handle, options), (e) => ioError(path, e)).pipe(Stream.flattenArray))))

/** The layout a path's extension names: `.jsonl`/`.ndjson` JSONL, `.json` a JSON array; undefined otherwise. */
export const layoutOfPath = (path: string): Layout | undefined => {
  const lower = path.toLowerCase()
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl"
  if (lower.endsWith(".json")) return "json"
  return undefined
}

// Text is written in batches of about 1 MiB: few system calls, bounded memory.
const writeBatchChars = 1024 * 1024

/**
 * Writes a stream of JSON values to `path` as a JSON array (one element a line) or JSONL, with
 * backpressure (each batch is awaited). The text goes to a temporary file beside `path`, renamed over
 * it only when the stream ends well, so a failed export never leaves a partial file. Returns the
 * number of records written.
 */
export const write = (path: string, layout: Layout) =>
<E, R>(self: Stream.Stream<unknown, E, R>): Effect.Effect<number, E | DataError, R> =>
  Effect.scoped(Effect.gen(function*() {
    const temp = `${path}.tmp-${process.pid}`
    const handle = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => NodeFs.promises.open(temp, "w"), catch: (e) => createError(path, e) }),
      (h, exit) =>
        Effect.promise(async () => {
          await h.close().catch(() => undefined)
          if (exit._tag === "Failure") await NodeFs.promises.rm(temp, { force: true }).catch(() => undefined)
        })
    )
    const put = (text: string) =>
      Effect.tryPromise({
        try: async () => {
          const bytes = Buffer.from(text, "utf8")
          let at = 0
          while (at < bytes.length) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten
        },
        catch: (e) => ioError(path, e)
      })
    let count = 0
    if (layout === "json") yield* put("[")
    yield* Stream.runForEachArray(self, (values) => {
      let text = ""
      const pieces: Array<string> = []
      for (const v of values) {
        const json = JSON.stringify(v)
        text += layout === "json" ? `${count === 0 ? "\n" : ",\n"}${json}` : `${json}\n`
        count++
        if (text.length >= writeBatchChars) {
          pieces.push(text)
          text = ""
        }
      }
      if (text !== "") pieces.push(text)
      return Effect.forEach(pieces, put, { discard: true })
    })
    if (layout === "json") yield* put(count === 0 ? "]\n" : "\n]\n")
    yield* Effect.tryPromise({ try: () => handle.close(), catch: (e) => ioError(path, e) })
    yield* Effect.tryPromise({ try: () => NodeFs.promises.rename(temp, path), catch: (e) => ioError(path, e) })
    return count
  }))
