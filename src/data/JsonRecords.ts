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
  /** Records nested deeper than this many arrays and objects are rejected before they are parsed. */
  readonly maxDepth?: number | undefined
}

// 64 MiB: far above any real trajectory, yet small enough that one record cannot exhaust memory.
export const defaultMaxRecordBytes = 64 * 1024 * 1024

// 100 levels: a conversation record is 4 deep (record, turns, turn, text) and metadata adds a few; far
// below the thousands of levels at which recursive code (JSON.stringify, schema checks) overflows the stack.
export const defaultMaxDepth = 100

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

/** Whether JSON text nests arrays and objects deeper than `limit` (strings and their escapes skipped). */
export const nestsDeeperThan = (bytes: Uint8Array, limit: number): boolean => {
  let depth = 0
  let inString = false
  let escape = false
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    if (inString) {
      if (escape) escape = false
      else if (b === 0x5c) escape = true
      else if (b === 0x22) inString = false
    } else if (b === 0x22) inString = true
    else if (b === 0x7b || b === 0x5b) {
      if (++depth > limit) return true
    } else if ((b === 0x7d || b === 0x5d) && depth > 0) depth--
  }
  return false
}

/**
 * Decodes one record's bytes: UTF-8 (fatal), then JSON. `truncated` names why the record may be cut
 * (the end of the file came first); it prefixes the reason when the record does not parse.
 */
export const decodeRecord = (index: number, bytes: Uint8Array, truncated?: string, maxDepth = defaultMaxDepth): Item => {
  let text: string
  try {
    text = fatalDecoder.decode(bytes)
  } catch {
    return { _tag: "Reject", index, reason: truncated === undefined ? "not UTF-8" : `${truncated}: not UTF-8`, record: lossyDecoder.decode(bytes) }
  }
  if (nestsDeeperThan(bytes, maxDepth)) {
    const why = `nested deeper than ${maxDepth} levels`
    return { _tag: "Reject", index, reason: truncated === undefined ? why : `${truncated}: ${why}`, record: lossyDecoder.decode(bytes.subarray(0, prefixBytes)) }
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

type Mode = "detect" | "jsonl" | "array" | "whole"

const BOM = [0xef, 0xbb, 0xbf]

// A record's signature is at most this long: `{"conversations":` fits, and a search for it stays cheap.
const maxSignatureBytes = 64

/**
 * The bytes that open a record: `{`, spaces, its first key in quotes, spaces, `:` (as `{"id":` or
 * `{\n    "item_id":`). Undefined when `bytes` does not open that way. Records of one file share it, and
 * inside a string it cannot appear unescaped, so after a broken array element it marks where the next
 * record starts.
 */
export const signatureOf = (bytes: Uint8Array): Uint8Array | undefined => {
  let i = 0
  while (i < bytes.length && isSpace(bytes[i]!)) i++
  const from = i
  if (bytes[i++] !== 0x7b) return undefined
  while (i < bytes.length && isSpace(bytes[i]!)) i++
  if (bytes[i++] !== 0x22) return undefined
  while (i < bytes.length && bytes[i] !== 0x22 && bytes[i] !== 0x5c && i - from < maxSignatureBytes) i++
  if (bytes[i++] !== 0x22) return undefined
  while (i < bytes.length && isSpace(bytes[i]!) && i - from < maxSignatureBytes) i++
  if (bytes[i++] !== 0x3a) return undefined
  return bytes.slice(from, i)
}

/**
 * Where a later record starts inside `bytes` (a broken element that ran on): the first occurrence of
 * any of `signatures` after a comma (spaces between), as the comma's and the signature's offsets.
 */
export const findResync = (
  bytes: Uint8Array,
  signatures: ReadonlyArray<Uint8Array>
): { readonly comma: number; readonly start: number } | undefined => {
  const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  let best: { readonly comma: number; readonly start: number } | undefined
  for (const signature of signatures) {
    for (let at = haystack.indexOf(signature, 1); at > 0 && (best === undefined || at < best.start); at = haystack.indexOf(signature, at + 1)) {
      let c = at - 1
      while (c > 0 && isSpace(bytes[c]!)) c--
      if (bytes[c] === 0x2c && c > 0) {
        best = { comma: c, start: at }
        break
      }
    }
  }
  return best
}

/** The first `{` after a comma (spaces between) that opens an object with a key (`{"k":`), as `findResync` gives it. */
export const findAnyObject = (bytes: Uint8Array): { readonly comma: number; readonly start: number } | undefined => {
  for (let at = bytes.indexOf(0x7b, 1); at > 0; at = bytes.indexOf(0x7b, at + 1)) {
    let c = at - 1
    while (c > 0 && isSpace(bytes[c]!)) c--
    if (bytes[c] !== 0x2c || c === 0) continue
    if (signatureOf(bytes.subarray(at, at + maxSignatureBytes)) !== undefined) return { comma: c, start: at }
  }
  return undefined
}

/**
 * The last bytes of an oversized element, kept so that a signature cut by a read boundary is still found:
 * a signature, plus room for the spaces between it and its comma.
 */
const tailOf = (bytes: Uint8Array): Uint8Array => bytes.slice(Math.max(0, bytes.length - (maxSignatureBytes + 256)))

// Signatures kept per file: the records' own, and room for a few odd objects that came first.
const maxSignatures = 8

/**
 * A pure, synchronous splitter over bytes; `read` drives it from a file.
 *
 * Array elements that do not parse are resynchronised: a broken element (cut short, an unclosed string
 * or bracket) throws the scanner's count of strings and brackets off, so it would run on over the
 * records that follow. When an element fails to parse, or grows past the size limit, the splitter looks
 * inside it for the signature of a record (`signatureOf`, learnt from the elements that parsed) after a comma;
 * the bytes before it are rejected and the scan restarts, fresh, from there. A top-level `]` closes the
 * array only if nothing but space follows it; otherwise it may be a broken element's own byte, and reading
 * goes on (see `afterClose`). Valid files never take these paths (their elements all parse).
 */
export const makeSplitter = (options: ReadOptions = {}): Splitter => {
  const max = options.maxRecordBytes ?? defaultMaxRecordBytes
  const maxDepth = options.maxDepth ?? defaultMaxDepth
  let mode: Mode = "detect"
  let detected: Layout | undefined = options.layout
  let offset = 0 // bytes seen before the current chunk (for the BOM)
  let index = 0
  // The record being collected: views into the input chunks, or (once over the limit) only its first bytes.
  let parts: Array<Uint8Array> = []
  let size = 0
  let oversized: Uint8Array | undefined
  let oversizedTail: Uint8Array = new Uint8Array(0) // array mode: the last bytes of an oversized element, to find a signature across reads
  let started = false // array mode: the current element has a non-space byte
  let depth = 0
  let inString = false
  let escape = false
  let sawComma = false // array mode: a top-level comma was seen (a `]` right after one is a trailing comma)
  const signatures: Array<Uint8Array> = [] // array mode: how this file's records open (see signatureOf)
  // Array mode: the last top-level byte was a `]`. The array is closed if nothing follows; a `,` after it
  // goes on with the array (that `]` was a broken element's own), a `[` opens the next of concatenated
  // arrays, anything else is one reject ("unexpected data after the closing ]") and reading goes on.
  let afterClose = false
  let elementAfterClose = false // the current element began right after a closing `]`

  /** Keeps the signature of an element that parsed as an object. */
  const learn = (bytes: Uint8Array, value: unknown): void => {
    if (signatures.length >= maxSignatures || typeof value !== "object" || value === null || Array.isArray(value)) return
    const sig = signatureOf(bytes)
    if (sig !== undefined && !signatures.some((s) => Buffer.compare(s, sig) === 0)) signatures.push(sig)
  }

  /**
   * Where to resume inside a broken element: at a signature learnt, else at the element's own opening.
   * With nothing known yet (the first records are broken), an element that is not JSON (`loose`)
   * resumes at any object after a comma, moving on one object at a time: a broken first record may
   * then give several rejects, but the records after it are read.
   */
  const resync = (bytes: Uint8Array, loose: boolean) => {
    if (signatures.length > 0) return findResync(bytes, signatures)
    const own = signatureOf(bytes)
    const found = own === undefined ? undefined : findResync(bytes, [own])
    return found ?? (loose ? findAnyObject(bytes) : undefined)
  }

  const reject = (reason: string, record: unknown): Item => ({ _tag: "Reject", index: index++, reason, record })

  /**
   * Adds bytes to the current record. In array mode, when the record is over the limit and a later
   * record's signature shows up in it, the record is rejected and the bytes from that signature on are
   * returned, to be scanned again.
   */
  const append = (part: Uint8Array, out: Array<Item>): Uint8Array | undefined => {
    if (part.length === 0) return undefined
    if (oversized !== undefined) {
      size += part.length
      if (mode !== "array" || signatures.length === 0) return undefined
      const window = concat([oversizedTail, part], oversizedTail.length + part.length)
      const cut = findResync(window, signatures)
      if (cut !== undefined) {
        out.push(reject(`record exceeds ${max} bytes`, lossyDecoder.decode(oversized)))
        reset()
        return window.slice(cut.start)
      }
      oversizedTail = tailOf(window)
      return undefined
    }
    if (size + part.length > max) {
      const all = [...parts, part]
      if (mode === "array") {
        const bytes = concat(all, size + part.length)
        const cut = resync(bytes, false)
        if (cut !== undefined && cut.comma <= max) {
          out.push(rejectBroken(bytes.subarray(0, cut.comma)))
          reset()
          return bytes.slice(cut.start)
        }
        oversizedTail = tailOf(bytes)
      }
      oversized = head(all, Math.min(prefixBytes, max))
      parts = []
      size += part.length
      return undefined
    }
    parts.push(part)
    size += part.length
    return undefined
  }

  const reset = (): void => {
    parts = []
    size = 0
    oversized = undefined
    oversizedTail = new Uint8Array(0)
    started = false
    elementAfterClose = false
    depth = 0
    inString = false
    escape = false
  }

  /** The reject of a broken element's bytes (cut before the next record), with its own reason. */
  const rejectBroken = (bytes: Uint8Array): Item => {
    const item = decodeRecord(index, bytes, undefined, maxDepth)
    const why = item._tag === "Reject" ? item.reason : "invalid JSON: the element runs on into the next record"
    const record = item._tag === "Reject" ? item.record : lossyDecoder.decode(bytes)
    return reject(`${why} (read resumed at the next record)`, record)
  }

  /**
   * Emits the collected record (if any) and resets. `truncated` when the file ended inside it. In array
   * mode, returns the bytes to scan again when the record was broken and a later record starts inside it.
   */
  const finish = (out: Array<Item>, truncated?: string): Uint8Array | undefined => {
    if (oversized !== undefined) {
      out.push(reject(`record exceeds ${max} bytes`, lossyDecoder.decode(oversized)))
    } else if (size > 0) {
      const bytes = concat(parts, size)
      if (!isBlank(bytes)) {
        const item: Item = elementAfterClose
          ? { _tag: "Reject", index, reason: "unexpected data after the closing ] of the array", record: lossyDecoder.decode(bytes.subarray(0, prefixBytes)) }
          : decodeRecord(index, bytes, truncated, maxDepth)
        if (mode === "array" && item._tag === "Record") learn(bytes, item.value)
        const cut = item._tag === "Reject" && mode === "array"
          ? resync(bytes, truncated !== undefined || elementAfterClose || item.reason.startsWith("invalid JSON"))
          : undefined
        if (cut !== undefined) {
          out.push(rejectBroken(bytes.subarray(0, cut.comma)))
          reset()
          return bytes.slice(cut.start)
        }
        index++
        out.push(item)
      }
    }
    reset()
    return undefined
  }

  const pushJsonl = (chunk: Uint8Array, out: Array<Item>): void => {
    let pos = 0
    while (pos < chunk.length) {
      const nl = chunk.indexOf(0x0a, pos)
      if (nl < 0) {
        append(chunk.subarray(pos), out)
        return
      }
      append(chunk.subarray(pos, nl), out)
      finish(out)
      pos = nl + 1
    }
  }

  /** Bytes to scan again, then the rest of this chunk (as `[rest, again]`), or undefined when the chunk was used up. */
  const pushArray = (chunk: Uint8Array, out: Array<Item>): [Uint8Array, Uint8Array] | undefined => {
    let segment = started ? 0 : -1 // where the current element's bytes start in this chunk
    for (let i = 0; i < chunk.length; i++) {
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
        if (segment >= 0) {
          const again = append(chunk.subarray(segment, i), out)
          if (again !== undefined) return [chunk.subarray(i + 1), concat([again, chunk.subarray(i, i + 1)], again.length + 1)]
        }
        segment = -1
        if (started || oversized !== undefined) {
          const again = finish(out)
          if (again !== undefined) return [chunk.subarray(i + 1), concat([again, chunk.subarray(i, i + 1)], again.length + 1)]
        } else if (b === 0x2c && afterClose) {
          // `] ,`: that `]` was not the end of the array; it goes on.
        } else if (b === 0x2c) out.push(reject("invalid JSON: empty array element", ""))
        else if (sawComma) out.push(reject("invalid JSON: trailing comma before ]", ""))
        reset()
        sawComma = b === 0x2c
        afterClose = b === 0x5d
        continue
      }
      if (isSpace(b)) continue
      if (!started) {
        if (afterClose && b === 0x5b) { // `] [`: the next of concatenated arrays
          afterClose = false
          continue
        }
        started = true
        segment = i
        elementAfterClose = afterClose
        afterClose = false
      }
      if (b === 0x22) inString = true
      else if (b === 0x7b || b === 0x5b) depth++
      else if (b === 0x7d && depth > 0) depth--
    }
    if (segment >= 0) {
      const again = append(chunk.subarray(segment), out)
      if (again !== undefined) return [new Uint8Array(0), again]
    }
    return undefined
  }

  /** Scans `bytes` in the current mode; bytes handed back for a second scan go first (no recursion). */
  const scan = (bytes: Uint8Array, out: Array<Item>): void => {
    const stack = [bytes]
    while (stack.length > 0) {
      const next = stack.pop()!
      if (mode === "jsonl") pushJsonl(next, out)
      else if (mode === "array") {
        const again = pushArray(next, out)
        if (again !== undefined) stack.push(...again)
      } else if (mode === "whole") append(next, out)
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
    if (mode !== "detect") scan(chunk.subarray(from), out)
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
      for (;;) {
        const before = out.length
        const trailer = elementAfterClose // data after a closing `]` ran to the end: the array was closed
        if (started || oversized !== undefined) {
          const again = finish(out, trailer ? undefined : "truncated: the array is never closed")
          if (again !== undefined) {
            scan(again, out)
            continue
          }
        }
        if (afterClose || trailer) break
        if (out.length === before || out[before]!._tag === "Record") {
          out.push(reject("truncated: the array is never closed (no ] at the end)", ""))
        }
        break
      }
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
