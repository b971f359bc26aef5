/**
 * A Parquet file opened for reading with hyparquet, one row group at a time: the file is read through
 * positional reads on a FileHandle (an `AsyncBuffer` over `fh.read`), never whole, and closed with the
 * scope. Errors are `DataError`s whose one line names the file (docs/conversation-formats.md, *Parquet*).
 *
 * What hyparquet does not do by itself, done here:
 * - codecs: snappy is built in; gzip, brotli and zstd come from node:zlib (no dependency); LZO and LZ4
 *   are refused before any row is read (`unsupportedCodec`);
 * - text that is not UTF-8: hyparquet's decoder would silently put U+FFFD in it; here such a value
 *   becomes a `NotUtf8` marker, which the row's conversion rejects with the column that holds it.
 */
import * as NodeFs from "node:fs"
import * as NodeZlib from "node:zlib"
import { Effect, type Scope } from "effect"
import {
  type AsyncBuffer,
  type CompressionCodec,
  type Compressors,
  type FileMetaData,
  parquetMetadataAsync,
  type ParquetParsers,
  parquetReadObjects
} from "hyparquet"
import { DataError } from "../domain/DataError.ts"
import * as ArrowError from "./ArrowError.ts"
import * as ParquetGuard from "./ParquetGuard.ts"

export interface ParquetFile {
  readonly path: string
  readonly buffer: AsyncBuffer
  readonly metadata: FileMetaData
  /** The file's text decoder; counts the values that were not UTF-8. */
  readonly text: TextParser
}

/** A text value whose bytes are not UTF-8 (its bytes kept for the reject, lossily decoded). */
export class NotUtf8 {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}

const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const lossy = new TextDecoder("utf-8", { ignoreBOM: true })

/** hyparquet's text parser, made strict: a value that is not UTF-8 becomes a `NotUtf8` (and is counted). */
export class TextParser {
  notUtf8 = 0
  readonly parsers: Partial<ParquetParsers> = {
    stringFromBytes: (bytes: Uint8Array | undefined): string | NotUtf8 | undefined => {
      if (bytes === undefined) return undefined
      try {
        return fatal.decode(bytes)
      } catch {
        this.notUtf8++
        return new NotUtf8(lossy.decode(bytes))
      }
    }
  }
}

/** The decompressors node:zlib gives for the codecs hyparquet lacks. */
const compressors: Compressors = {
  GZIP: (input) => new Uint8Array(NodeZlib.gunzipSync(input)),
  BROTLI: (input) => new Uint8Array(NodeZlib.brotliDecompressSync(input)),
  ZSTD: (input) => new Uint8Array(NodeZlib.zstdDecompressSync(input))
}

const readable: ReadonlySet<CompressionCodec> = new Set(["UNCOMPRESSED", "SNAPPY", "GZIP", "BROTLI", "ZSTD"])

/** The first codec of the given top-level columns that cannot be decompressed, with the column using it. */
export const unsupportedCodec = (metadata: FileMetaData, columns: ReadonlyArray<string>): { readonly column: string; readonly codec: string } | undefined => {
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const meta = chunk.meta_data
      if (meta === undefined || !columns.includes(meta.path_in_schema[0] ?? "")) continue
      if (!readable.has(meta.codec)) return { column: meta.path_in_schema.join("."), codec: meta.codec }
    }
  }
  return undefined
}

/** The codecs `unsupportedCodec` accepts, for messages. */
export const readableCodecs = "uncompressed, snappy, gzip, brotli or zstd"

const notParquet = (path: string, why: string): DataError => new DataError({ reason: "NotParquet", path, message: `${path}: not a Parquet file${why}` })

const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim()

const textOf = (e: unknown): string => oneLine(e instanceof Error ? e.message : String(e))

/** An AsyncBuffer over the open file: each slice is one positional read (repeated on a short read). */
const bufferOn = (fh: NodeFs.promises.FileHandle, size: number): AsyncBuffer => ({
  byteLength: size,
  slice: async (start, end) => {
    const stop = Math.min(end ?? size, size)
    const out = new ArrayBuffer(Math.max(0, stop - start))
    const view = new Uint8Array(out)
    let at = 0
    while (at < view.length) {
      const { bytesRead } = await fh.read(view, at, view.length - at, start + at)
      if (bytesRead === 0) throw new Error(`the file ends at byte ${start + at}, before byte ${stop} (was it cut while being read?)`)
      at += bytesRead
    }
    return out
  }
})

const magic = (bytes: Uint8Array): string => String.fromCharCode(...bytes)

/** Why the file's first and last bytes rule out a Parquet file; undefined when they do not. */
const shapeProblem = (head: Uint8Array, tail: Uint8Array, size: number): string | undefined => {
  if (size === 0) return " (empty file)"
  const starts = head.length >= 4 && magic(head.subarray(0, 4)) === "PAR1"
  if (size < 12) return starts ? " (truncated: too short for a footer)" : " (too short)"
  const ends = magic(tail) === "PAR1"
  if (starts && ends) return undefined
  if (starts && magic(tail) === "PARE") return " (encrypted Parquet is not supported)"
  if (starts) return " (truncated: it starts as Parquet but its footer is missing)"
  return /^\s*[[{]/.test(lossy.decode(head)) ? " (it looks like JSON: --format eto, agentgym or chat?)" : " (no PAR1 at its start and end)"
}

/**
 * Opens the Parquet file at `path` in the scope and reads its footer (metadata). Fails with NotFound,
 * Io (a directory, permissions), or NotParquet (empty, truncated, another format, a broken footer).
 */
export const open = (path: string): Effect.Effect<ParquetFile, DataError, Scope.Scope> =>
  Effect.gen(function*() {
    const fh = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => NodeFs.promises.open(path, "r"), catch: (e) => ArrowError.ioError(path, e) }),
      (fh) => Effect.promise(() => fh.close().catch(() => undefined))
    )
    const stat = yield* Effect.tryPromise({ try: () => fh.stat(), catch: (e) => ArrowError.ioError(path, e) })
    if (stat.isDirectory()) return yield* Effect.fail(new DataError({ reason: "Io", path, message: `${path}: is a directory, not a file` }))
    const size = stat.size
    const buffer = bufferOn(fh, size)
    const ends = yield* Effect.tryPromise({
      try: async () => {
        const head = new Uint8Array(await buffer.slice(0, Math.min(size, 16)))
        const tail = new Uint8Array(await buffer.slice(Math.max(0, size - 4), size))
        return { head, tail }
      },
      catch: (e) => ArrowError.ioError(path, e)
    })
    const problem = shapeProblem(ends.head, ends.tail, size)
    if (problem !== undefined) return yield* Effect.fail(notParquet(path, problem))
    const text = new TextParser()
    const metadata = yield* Effect.tryPromise({
      try: () => parquetMetadataAsync(buffer, { parsers: text.parsers }),
      catch: (e) => notParquet(path, ` (its footer is broken: ${textOf(e)})`)
    })
    const inconsistent = yield* Effect.try({
      try: () => ParquetGuard.footerProblem(metadata, size),
      catch: (e) => notParquet(path, ` (its footer is broken: ${textOf(e)})`)
    })
    if (inconsistent !== undefined) return yield* Effect.fail(notParquet(path, ` (its footer is inconsistent: ${inconsistent})`))
    return { path, buffer, metadata, text }
  })

/** The rows of each row group: `[start, end)` in the file's numbering. */
export const rowGroups = (metadata: FileMetaData): Array<{ readonly start: number; readonly end: number }> => {
  const out: Array<{ start: number; end: number }> = []
  let start = 0
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows)
    out.push({ start, end })
    start = end
  }
  return out
}

/**
 * The rows of row group `group` (`[start, end)` in the file's numbering), as objects of the given
 * top-level columns, and whether any of their text was not UTF-8 (then some value is a `NotUtf8`).
 * Fails with Decode when the group cannot be decoded (corrupt pages, an unsupported encoding, a row
 * count other than the footer's); the message names the file, the group and its rows.
 */
export const readRows = (
  file: ParquetFile,
  columns: ReadonlyArray<string>,
  group: number,
  start: number,
  end: number
): Effect.Effect<{ readonly rows: Array<Record<string, unknown>>; readonly notUtf8: boolean }, DataError> =>
  Effect.tryPromise({
    try: async () => {
      // Page headers first (ParquetGuard): a corrupt one is a reason here, not a hang in the decoder.
      for (const chunk of file.metadata.row_groups[group]!.columns) {
        const meta = chunk.meta_data!
        if (!columns.includes(meta.path_in_schema[0]!)) continue
        const { start: from, end: to } = ParquetGuard.chunkRange(meta)
        const problem = ParquetGuard.chunkProblem(await file.buffer.slice(from, to), meta)
        if (problem !== undefined) throw new Error(problem)
      }
      const before = file.text.notUtf8
      const rows = await parquetReadObjects({
        file: file.buffer,
        metadata: file.metadata,
        columns: [...columns],
        rowStart: start,
        rowEnd: end,
        compressors,
        parsers: file.text.parsers
      })
      if (rows.length !== end - start) throw new Error(`it gave ${rows.length} rows where the footer says ${end - start}`)
      return { rows: rows as Array<Record<string, unknown>>, notUtf8: file.text.notUtf8 > before }
    },
    catch: (e) =>
      new DataError({
        reason: "Decode",
        path: file.path,
        message: `${file.path}: row group ${group} (rows ${start}-${end - 1} of the file) cannot be decoded: ${textOf(e)}`
      })
  })
