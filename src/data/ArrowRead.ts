/**
 * Reading an Arrow IPC stream (or file) lazily, one checked record batch at a time, with clear errors:
 * a regular file through positional reads, a pipe as a stream (docs/data-format.md).
 */
import * as Arrow from "apache-arrow"
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import { DataError } from "../domain/DataError.ts"
import * as ArrowCheck from "./ArrowCheck.ts"
import * as ArrowError from "./ArrowError.ts"
import * as ArrowMetadataGuard from "./ArrowMetadataGuard.ts"

ArrowMetadataGuard.install()

/** Why the first bytes cannot start an Arrow IPC stream (continuation marker) or file (`ARROW1`); undefined when they can. */
export const headProblem = (head: Uint8Array): string | undefined => {
  if (head.length === 0) return " (empty file)"
  if (head.length >= 6 && String.fromCharCode(...head.subarray(0, 6)) === "ARROW1") return undefined
  if (head.length >= 4 && head[0] === 0xff && head[1] === 0xff && head[2] === 0xff && head[3] === 0xff) return undefined
  return /^\s*[[{]/.test(new TextDecoder().decode(head)) ? " (it looks like JSON)" : ""
}

export type AsyncReader = Arrow.AsyncRecordBatchStreamReader | Arrow.AsyncRecordBatchFileReader

/** Opens `path` for reading, in the scope (closed when the scope ends). */
export const openHandle = (path: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => fs.promises.open(path, "r"), catch: (e) => ArrowError.ioError(path, e) }),
    (fh) => Effect.promise(() => fh.close().catch(() => undefined))
  )

/**
 * An Arrow reader on the open file `fh`, after its schema message. A regular file is first checked by
 * its first bytes (so that a 2 GB JSON file is refused at once rather than parsed as a giant message
 * length), then read through the FileHandle: Arrow reads each message with one positional read of
 * exactly its size (no chunk joining, the least garbage), and an IPC file gets random access instead of
 * being loaded whole. A pipe or device (`/dev/stdin`) is read as a stream, from where it stands.
 */
export const readerOn = (path: string, fh: fs.promises.FileHandle) =>
  Effect.tryPromise({
    try: async (): Promise<AsyncReader | DataError> => {
      const stat = await fh.stat()
      if (stat.isDirectory()) return new DataError({ reason: "Io", path, message: `${path}: is a directory, not a file` })
      if (stat.isFile()) {
        const head = new Uint8Array(8)
        const { bytesRead } = await fh.read(head, 0, 8, 0)
        const problem = headProblem(head.subarray(0, bytesRead))
        if (problem !== undefined) return ArrowError.notArrow(path, problem)
        const reader = await Arrow.RecordBatchReader.from(fh)
        await reader.open()
        return reader as AsyncReader
      }
      // A pipe: look at the first 8 bytes as they arrive, then hand Arrow those chunks and the rest.
      const chunks = fh.createReadStream({ autoClose: false })[Symbol.asyncIterator]() as AsyncIterator<Buffer>
      const first: Array<Buffer> = []
      let size = 0
      let done = false
      while (size < 8 && !done) {
        const r = await chunks.next()
        if (r.done === true) done = true
        else {
          first.push(r.value)
          size += r.value.length
        }
      }
      const problem = headProblem(Buffer.concat(first).subarray(0, 8))
      if (problem !== undefined) {
        await chunks.return?.()
        return ArrowError.notArrow(path, problem)
      }
      const all = async function*() {
        yield* first
        if (done) return
        for (let r = await chunks.next(); r.done !== true; r = await chunks.next()) yield r.value
      }
      const reader = await Arrow.RecordBatchReader.from(all())
      await reader.open()
      return reader as AsyncReader
    },
    catch: (e) => ArrowError.readError(path, e)
  }).pipe(
    Effect.flatMap((r) => (r instanceof DataError ? Effect.fail(r) : Effect.succeed(r))),
    Effect.flatMap((reader) => {
      const schema: Arrow.Schema | undefined | null = reader.schema
      return schema === undefined || schema === null
        ? Effect.fail(ArrowError.notArrow(path, " (no schema message)"))
        : Effect.succeed({ reader, schema })
    })
  )

/** Opens `path` and an Arrow reader on it, in the scope. */
const open = (path: string) => Effect.flatMap(openHandle(path), (fh) => readerOn(path, fh))

/** Checks the schema and turns the reader's batches into a checked stream (see `openBatches`). */
export const checkedBatches = (path: string, expected: Arrow.Schema, reader: AsyncReader, schema: Arrow.Schema) =>
  Effect.gen(function*() {
    // A corrupt schema message can decode to nonsense types: whatever the check throws means NotArrow.
    const problem = yield* Effect.try({ try: () => ArrowCheck.schemaProblem(expected, schema), catch: (e) => ArrowError.readError(path, e) })
    if (problem !== undefined) return yield* Effect.fail(ArrowError.wrongSchema(path, problem))
    let index = 0
    const batches = Stream.fromAsyncIterable<Arrow.RecordBatch, DataError>(reader, (e) => ArrowError.readError(path, e)).pipe(
      // Arrow JS yields a placeholder batch (no nested buffers) for a stream with a schema and no
      // batches; an empty batch carries nothing anyway.
      Stream.filter((batch) => batch.numRows > 0),
      Stream.mapEffect((batch) => {
        const at = index++
        return Effect.try({ try: () => ArrowCheck.batchProblem(expected, batch), catch: (e) => ArrowError.readError(path, e) }).pipe(
          Effect.flatMap((problem) =>
            problem === undefined
              ? Effect.succeed(batch)
              : problem.corrupt
              ? Effect.fail(new DataError({ reason: "NotArrow", path, message: `${path}: not a valid Arrow IPC stream (batch ${at} is corrupt: ${problem.text})` }))
              : Effect.fail(ArrowError.wrongSchema(path, `batch ${at}: column ${problem.text}`))
          )
        )
      })
    )
    return { schema, batches }
  })

/**
 * Opens the Arrow IPC stream (or file) at `path` in the scope and checks its schema against `expected`:
 * its schema, and its record batches as a lazy stream (one batch in memory at a time; each batch checked
 * for corrupt buffers and for nulls in required columns). Fails with NotFound, NotArrow (empty, JSON,
 * truncated, corrupt), WrongSchema (missing or mistyped columns by name, nulls in required columns) or Io.
 * The file is read once, so this works on a pipe too.
 */
export const openBatches = (path: string, expected: Arrow.Schema) =>
  Effect.flatMap(open(path), ({ reader, schema }) => checkedBatches(path, expected, reader, schema))

/** The record batches of the Arrow IPC stream (or file) at `path`, lazily, schema checked (see `openBatches`). */
export const readBatches = (path: string, expected: Arrow.Schema): Stream.Stream<Arrow.RecordBatch, DataError> =>
  Stream.unwrap(Effect.map(openBatches(path, expected), ({ batches }) => batches))

/** The schema of the Arrow file at `path` (reads only the schema message). */
export const readSchema = (path: string): Effect.Effect<Arrow.Schema, DataError> =>
  Effect.scoped(Effect.map(open(path), ({ schema }) => schema))
