/**
 * The rejects file of an import: one JSON line per record that failed to decode,
 * `{"index": i, "reason": "...", "record": <original>}`, where `record` is the original JSON value, or
 * the original text as a string when it was not valid JSON (the first bytes of a record too large to keep).
 *
 * Lines are buffered and written synchronously in batches, so memory stays bounded however many
 * records are rejected. The file is always created (empty when nothing was rejected), so a stale
 * rejects file of an earlier run never survives.
 */
import * as NodeFs from "node:fs"
import { Effect, type Scope } from "effect"
import type { DataError } from "../domain/DataError.ts"
import * as JsonRecords from "./JsonRecords.ts"

export interface Reject {
  readonly index: number
  readonly reason: string
  readonly record: unknown
}

/** `<out>.rejects.jsonl`: the rejects file beside an import's output. */
export const pathFor = (out: string): string => `${out}.rejects.jsonl`

export interface Writer {
  readonly path: string
  /** Appends one reject (buffered). */
  readonly write: (reject: Reject) => Effect.Effect<void, DataError>
  /** Writes out what is buffered. */
  readonly flush: Effect.Effect<void, DataError>
  /** Rejects written so far. */
  readonly count: () => number
}

// 1 MiB of buffered lines between writes: few system calls, bounded memory.
const flushChars = 1024 * 1024

const writeAll = (fd: number, bytes: Uint8Array): void => {
  let at = 0
  while (at < bytes.length) at += NodeFs.writeSync(fd, bytes, at, bytes.length - at)
}

/** Opens (truncates) the rejects file at `path`; it is flushed and closed when the scope closes. */
export const open = (path: string): Effect.Effect<Writer, DataError, Scope.Scope> =>
  Effect.gen(function*() {
    const fd = yield* Effect.acquireRelease(
      Effect.try({ try: () => NodeFs.openSync(path, "w"), catch: (e) => JsonRecords.createError(path, e) }),
      (fd) => Effect.sync(() => NodeFs.closeSync(fd))
    )
    let buffer = ""
    let count = 0
    const flush = Effect.suspend(() => {
      if (buffer === "") return Effect.void
      const text = buffer
      buffer = ""
      return Effect.try({ try: () => writeAll(fd, Buffer.from(text, "utf8")), catch: (e) => JsonRecords.ioError(path, e) })
    })
    const write = (reject: Reject) =>
      Effect.suspend(() => {
        buffer += `${JSON.stringify({ index: reject.index, reason: reject.reason, record: reject.record })}\n`
        count++
        return buffer.length >= flushChars ? flush : Effect.void
      })
    yield* Effect.addFinalizer(() => Effect.ignore(flush))
    return { path, write, flush, count: () => count }
  })
