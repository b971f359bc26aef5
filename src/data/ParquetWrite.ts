/**
 * Writing trajectories as chat records to a Parquet file (ParquetChatSchema's schema), row group by row
 * group, with hyparquet-writer's incremental `ParquetWriter`: each group is encoded once enough rows for
 * it have arrived, its bytes go to the file, and only the footer's metadata (a few hundred bytes a group)
 * stays behind, so memory is one row group whatever the number of rows.
 *
 * Atomic, as the Arrow writer is: the bytes go to `<path>.tmp-<pid>`, renamed to `path` once the footer
 * is written; on failure or interruption the temporary file is removed and `path` is left as it was.
 */
import * as NodeFs from "node:fs"
import { Effect, Exit, Stream } from "effect"
import { ByteWriter, ParquetWriter } from "hyparquet-writer"
import { DataError } from "../domain/DataError.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as ArrowError from "./ArrowError.ts"
import * as ChatFormat from "./ChatFormat.ts"
import * as ParquetChatSchema from "./ParquetChatSchema.ts"

/**
 * A row group is written once its text reaches this many UTF-16 units (~bytes for ASCII text). Reading a
 * group back holds it decoded: importing the 500k-step bench file peaked at 222, 226, 231 and 374 MB RSS
 * with groups of 1, 4, 16 and 64 Mi units, at the same CPU time; 8 Mi keeps the import inside its
 * 300 MB with room for text that takes more bytes per character, while a group's fixed cost (page headers,
 * a footer entry) stays noise and readers that fetch a group at a time make few requests.
 */
export const defaultRowGroupChars = 8 * 1024 * 1024

/** The key under which the file's key-value metadata names its layout. */
export const layoutKey = "stepagent.schema"
export const layout = "chat-parquet/1"

// 1 MiB of encoded bytes between writes: few system calls, bounded memory.
const flushBytes = 1024 * 1024

/** hyparquet-writer's byte buffer, emptied to a file descriptor whenever it holds 1 MiB and after each row group. */
class FdWriter extends ByteWriter {
  readonly fd: number
  constructor(fd: number) {
    super(flushBytes + 64 * 1024)
    this.fd = fd
  }
  override ensure(size: number): void {
    if (this.index > flushBytes) this.flush()
    super.ensure(size)
  }
  flush(): void {
    const bytes = new Uint8Array(this.buffer, 0, this.index)
    let at = 0
    while (at < bytes.length) at += NodeFs.writeSync(this.fd, bytes, at, bytes.length - at)
    this.index = 0
  }
  override finish(): void {
    this.flush()
  }
}

/** The columns of one row group, filled record by record. */
class Group {
  ids: Array<string> = []
  messages: Array<ReadonlyArray<ChatFormat.ChatMessage>> = []
  rewards: Array<number> = []
  successes: Array<boolean> = []
  envs: Array<string> = []
  taskIds: Array<string> = []
  chars = 0

  add(r: ChatFormat.ChatRecord): void {
    this.ids.push(r.id)
    this.messages.push(r.messages)
    this.rewards.push(r.reward)
    this.successes.push(r.success)
    this.envs.push(r.env)
    this.taskIds.push(r.task_id)
    for (const m of r.messages) this.chars += m.content.length
    this.chars += r.id.length + r.env.length + r.task_id.length
  }

  get size(): number {
    return this.ids.length
  }

  columns() {
    return [
      { name: "id", data: this.ids },
      { name: "messages", data: this.messages },
      { name: "reward", data: this.rewards },
      { name: "success", data: this.successes },
      { name: "env", data: this.envs },
      { name: "task_id", data: this.taskIds }
    ]
  }
}

/** A system error (ENOSPC, EIO) from the writes stays Io; anything else is the encoder's. */
const encodeError = (path: string, e: unknown): DataError =>
  typeof e === "object" && e !== null && "code" in e
    ? ArrowError.ioError(path, e)
    : new DataError({ reason: "Encode", path, message: `${path}: ${e instanceof Error ? e.message : String(e)}` })

/**
 * Writes trajectories to `path` as chat records (ChatFormat.encode), `rowGroupChars` of text a row group
 * (default `defaultRowGroupChars`). Returns the number of rows written.
 */
export const write = (path: string, options?: { readonly rowGroupChars?: number }) =>
<E, R>(self: Stream.Stream<Trajectory, E, R>): Effect.Effect<number, E | DataError, R> => {
  const tmp = `${path}.tmp-${process.pid}`
  const limit = Math.max(1, options?.rowGroupChars ?? defaultRowGroupChars)
  let closed = false
  return Effect.acquireUseRelease(
    Effect.try({ try: () => NodeFs.openSync(tmp, "w"), catch: (e) => ArrowError.ioError(path, e) }),
    (fd) =>
      Effect.gen(function*() {
        const writer = new FdWriter(fd)
        const pq = yield* Effect.try({
          try: () =>
            new ParquetWriter({
              writer,
              schema: ParquetChatSchema.schema,
              createdBy: "stepagent",
              kvMetadata: [{ key: layoutKey, value: layout }]
            }),
          catch: (e) => ArrowError.ioError(path, e)
        })
        let group = new Group()
        let rows = 0
        const flush = Effect.suspend(() => {
          if (group.size === 0) return Effect.void
          const full = group
          group = new Group()
          rows += full.size
          return Effect.try({
            // Synchronous: FdWriter's flush writes with writeSync, so write() returns no promise.
            try: () => void pq.write({ columnData: full.columns(), rowGroupSize: full.size }),
            catch: (e) => encodeError(path, e)
          })
        })
        yield* Stream.runForEach(self, (t) =>
          Effect.suspend(() => {
            group.add(ChatFormat.encode(t))
            return group.chars >= limit ? flush : Effect.void
          }))
        yield* flush
        yield* Effect.try({ try: () => void pq.finish(), catch: (e) => encodeError(path, e) })
        closed = true
        yield* Effect.try({ try: () => NodeFs.closeSync(fd), catch: (e) => ArrowError.ioError(path, e) })
        yield* Effect.tryPromise({ try: () => NodeFs.promises.rename(tmp, path), catch: (e) => ArrowError.ioError(path, e) })
        return rows
      }),
    (fd, exit) =>
      Effect.sync(() => {
        if (!closed) NodeFs.closeSync(fd)
        if (Exit.isFailure(exit)) NodeFs.rmSync(tmp, { force: true })
      })
  )
}
