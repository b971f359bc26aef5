/**
 * The rejects file of an import: one JSON line per record that failed to decode,
 * `{"index": i, "reason": "...", "record": <original>}`, where `record` is the original JSON value, or
 * the original text as a string when it was not valid JSON (the first bytes of a record too large to keep).
 *
 * Lines are buffered and written synchronously in batches, so memory stays bounded however many
 * records are rejected. Atomic, as the import's output is: the lines go to `<path>.tmp-<pid>`, renamed
 * over `path` by `commit` once the output is in place; an import that fails or is interrupted leaves the
 * earlier rejects file (if any) untouched and no temporary file. A committed file always exists (empty
 * when nothing was rejected), so a stale rejects file of an earlier run never survives a new import.
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
  /** Writes out what is buffered and renames the file into place. */
  readonly commit: Effect.Effect<void, DataError>
  /** Rejects written so far. */
  readonly count: () => number
}

// 1 MiB of buffered lines between writes: few system calls, bounded memory.
const flushChars = 1024 * 1024

const writeAll = (fd: number, bytes: Uint8Array): void => {
  let at = 0
  while (at < bytes.length) at += NodeFs.writeSync(fd, bytes, at, bytes.length - at)
}

/**
 * One line of the file. A record JSON cannot encode (nested past the stack, which the reader's depth
 * limit already prevents) is kept as its text form rather than losing the line.
 */
export const line = (reject: Reject): string => {
  const head = { index: reject.index, reason: reject.reason }
  try {
    return `${JSON.stringify({ ...head, record: reject.record })}\n`
  } catch {
    return `${JSON.stringify({ ...head, reason: `${reject.reason} (record not encodable as JSON; kept as text)`, record: String(reject.record).slice(0, 1024) })}\n`
  }
}

/** Opens the rejects file for `path` (a temporary file until `commit`); closed (and, uncommitted, removed) when the scope closes. */
export const open = (path: string): Effect.Effect<Writer, DataError, Scope.Scope> =>
  Effect.gen(function*() {
    const temp = `${path}.tmp-${process.pid}`
    let committed = false
    let fd: number | undefined = yield* Effect.acquireRelease(
      Effect.try({ try: () => NodeFs.openSync(temp, "w"), catch: (e) => JsonRecords.createError(path, e) }),
      () =>
        Effect.sync(() => {
          if (fd !== undefined) NodeFs.closeSync(fd)
          if (!committed) NodeFs.rmSync(temp, { force: true })
        })
    )
    let buffer = ""
    let count = 0
    const flush = Effect.suspend(() => {
      if (buffer === "" || fd === undefined) return Effect.void
      const text = buffer
      const target = fd
      buffer = ""
      return Effect.try({ try: () => writeAll(target, Buffer.from(text, "utf8")), catch: (e) => JsonRecords.ioError(path, e) })
    })
    const write = (reject: Reject) =>
      Effect.suspend(() => {
        buffer += line(reject)
        count++
        return buffer.length >= flushChars ? flush : Effect.void
      })
    const commit = Effect.gen(function*() {
      yield* flush
      const target = fd
      fd = undefined
      if (target !== undefined) {
        yield* Effect.try({
          try: () => {
            NodeFs.fsyncSync(target)
            NodeFs.closeSync(target)
          },
          catch: (e) => JsonRecords.ioError(path, e)
        })
      }
      yield* Effect.try({ try: () => NodeFs.renameSync(temp, path), catch: (e) => JsonRecords.ioError(path, e) })
      committed = true
    })
    return { path, write, commit, count: () => count }
  })
