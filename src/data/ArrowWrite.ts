/**
 * Writing an Arrow IPC stream batch by batch, with backpressure, atomically (docs/data-format.md).
 */
import * as Arrow from "apache-arrow"
import { Effect, Exit, Stream } from "effect"
import * as fs from "node:fs"
import { DataError } from "../domain/DataError.ts"
import * as ArrowCheck from "./ArrowCheck.ts"
import * as ArrowError from "./ArrowError.ts"

/** Collects the bytes the Arrow writer emits so that each batch is written (and awaited) before the next is pulled. */
class Pending extends Arrow.AsyncByteQueue {
  chunks: Array<Uint8Array> = []
  // The writer hands over Uint8Array views (body buffers are not copied): write them before they change.
  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.chunks.push(value)
  }
  take(): Array<Uint8Array> {
    const out = this.chunks
    this.chunks = []
    return out
  }
}

const writeAll = (fh: fs.promises.FileHandle, chunks: ReadonlyArray<Uint8Array>): Promise<void> =>
  chunks.length === 0 ? Promise.resolve() : fh.writev(chunks).then(async ({ bytesWritten }) => {
    const total = chunks.reduce((n, c) => n + c.byteLength, 0)
    // writev may write less than asked (rare, e.g. on signals): write the rest chunk by chunk.
    if (bytesWritten < total) {
      let skip = bytesWritten
      for (const c of chunks) {
        if (skip >= c.byteLength) {
          skip -= c.byteLength
          continue
        }
        let rest = c.subarray(skip)
        skip = 0
        while (rest.byteLength > 0) {
          const { bytesWritten: n } = await fh.write(rest)
          rest = rest.subarray(n)
        }
      }
    }
  })

/**
 * Writes a stream of record batches (all of `schema`) to an Arrow IPC stream at `path`, batch by batch:
 * each batch is serialised and its bytes awaited on disk before the next one is pulled (backpressure).
 * Atomic: the bytes go to `<path>.tmp-<pid>`, renamed to `path` at the end; on any failure or
 * interruption the temporary file is removed and `path` is left as it was. Returns the rows written.
 */
export const writeBatches = (path: string, schema: Arrow.Schema) =>
<E, R>(self: Stream.Stream<Arrow.RecordBatch, E, R>): Effect.Effect<number, E | DataError, R> => {
  const tmp = `${path}.tmp-${process.pid}`
  let closed = false
  return Effect.acquireUseRelease(
    Effect.tryPromise({ try: () => fs.promises.open(tmp, "w"), catch: (e) => ArrowError.ioError(path, e) }),
    (fh) =>
      Effect.gen(function*() {
        const pending = new Pending()
        const writer = new Arrow.RecordBatchStreamWriter()
        writer.reset(pending, schema)
        const flush = Effect.suspend(() => {
          const chunks = pending.take()
          return Effect.tryPromise({ try: () => writeAll(fh, chunks), catch: (e) => ArrowError.ioError(path, e) })
        })
        let rows = 0
        yield* Stream.runForEach(self, (batch) =>
          Effect.suspend(() => {
            // The Arrow writer silently ends the stream on a batch of another schema: refuse it instead.
            if (batch.schema !== schema) {
              const same = batch.schema.fields.length === schema.fields.length &&
                batch.schema.fields.every((f, i) => f.name === schema.fields[i]!.name) &&
                ArrowCheck.schemaProblem(schema, batch.schema) === undefined
              if (!same) return Effect.fail(new DataError({ reason: "Encode", path, message: `${path}: a record batch does not have the file's schema` }))
              batch = new Arrow.RecordBatch(schema, batch.data)
            }
            writer.write(batch)
            rows += batch.numRows
            return flush
          }))
        // With no batch, close() still writes the schema message, then the end-of-stream marker.
        writer.close()
        yield* flush
        closed = true
        yield* Effect.tryPromise({ try: () => fh.close(), catch: (e) => ArrowError.ioError(path, e) })
        yield* Effect.tryPromise({ try: () => fs.promises.rename(tmp, path), catch: (e) => ArrowError.ioError(path, e) })
        return rows
      }),
    (fh, exit) =>
      Effect.promise(async () => {
        if (!closed) await fh.close().catch(() => undefined)
        if (Exit.isFailure(exit)) await fs.promises.rm(tmp, { force: true }).catch(() => undefined)
      })
  )
}
