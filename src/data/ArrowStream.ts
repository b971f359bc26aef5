/**
 * Arrow IPC stream IO shared by the trajectory layouts (src/data/TrajectoryArrow.ts, TokenizedArrow.ts):
 * lazy batch reading with clear errors, atomic batch-by-batch writing with backpressure, schema checks,
 * and the few column codecs (UTF-8, validity, booleans) both layouts build their batches with.
 *
 * Index conventions of Arrow JS `Data` (checked against apache-arrow 21's own getters): value offsets
 * and fixed-width value buffers are already sliced to the Data (index `i`), while validity bitmaps and
 * boolean bit-buffers are indexed by `offset + i`. Buffers read from IPC are padded: every loop here is
 * bounded by `data.length`, never by a buffer's length.
 */
import * as Arrow from "apache-arrow"
import type { RecordBatch as RecordBatchHeader } from "apache-arrow/ipc/metadata/message"
import { VectorLoader } from "apache-arrow/visitor/vectorloader"
import { Effect, Exit, Option, Stream } from "effect"
import * as flatbuffers from "flatbuffers"
import * as fs from "node:fs"
import { DataError } from "../domain/DataError.ts"

/** Schema metadata key naming the layout and its version (`trajectory-text/1`, `trajectory-tokens/1`). */
export const layoutKey = "stepagent.schema"

// ---------------------------------------------------------------------------------------------------
// Errors

const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim()

const errorText = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message
  if (typeof cause === "object" && cause !== null && "value" in cause) return errorText((cause as { value: unknown }).value)
  return String(cause)
}

const codeOf = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof (cause as { code: unknown }).code === "string"
    ? (cause as { code: string }).code
    : undefined

/** A system error (ENOENT, EACCES, EISDIR, ENOSPC...) as a DataError naming the file. */
export const ioError = (path: string, cause: unknown): DataError => {
  const code = codeOf(cause)
  if (code === "ENOENT") return new DataError({ reason: "NotFound", path, message: `${path}: no such file` })
  if (code === "EISDIR") return new DataError({ reason: "Io", path, message: `${path}: is a directory, not a file` })
  return new DataError({ reason: "Io", path, message: `${path}: ${oneLine(errorText(cause))}` })
}

/** An error raised while decoding IPC bytes: a system error stays Io, anything else means the bytes are not valid Arrow. */
export const readError = (path: string, cause: unknown): DataError =>
  cause instanceof DataError
    ? cause
    : codeOf(cause) !== undefined
    ? ioError(path, cause)
    : new DataError({ reason: "NotArrow", path, message: `${path}: not a valid Arrow IPC stream (truncated or corrupt: ${oneLine(errorText(cause))})` })

const wrongSchema = (path: string, problem: string): DataError =>
  new DataError({ reason: "WrongSchema", path, message: `${path}: wrong schema: ${problem}` })

// ---------------------------------------------------------------------------------------------------
// Corrupt metadata guard

/**
 * Arrow decodes IPC message metadata with flatbuffers' generated readers, which trust every vector
 * length they read: one corrupt length (a flipped byte in a schema message) makes Arrow loop over
 * billions of fields until the process runs out of memory. A vector always lies inside its message,
 * so this adds that bound check (true of every valid flatbuffer, so nothing valid is refused): a
 * corrupt length becomes an error, reported as NotArrow. Installed once, on the `flatbuffers` module
 * Arrow itself imports (the same version is a direct dependency so that both resolve to one module).
 */
const guardVectorLengths = (): void => {
  const proto = flatbuffers.ByteBuffer.prototype as flatbuffers.ByteBuffer & { __stepagentGuard?: true }
  if (proto.__stepagentGuard === true) return
  const vectorLen = proto.__vector_len
  proto.__vector_len = function(this: flatbuffers.ByteBuffer, offset: number): number {
    const len = vectorLen.call(this, offset)
    const start = offset + this.readInt32(offset) + 4
    if (len < 0 || start + len > this.capacity()) {
      throw new RangeError(`corrupt message metadata: a vector of ${len} elements overruns its ${this.capacity()}-byte message`)
    }
    return len
  }
  proto.__stepagentGuard = true
}
guardVectorLengths()

// ---------------------------------------------------------------------------------------------------
// Schema checks

const typeMatches = (expected: Arrow.DataType, actual: Arrow.DataType): boolean => {
  if (expected.typeId !== actual.typeId) return false
  if (Arrow.DataType.isInt(expected) && Arrow.DataType.isInt(actual)) {
    return expected.bitWidth === actual.bitWidth && expected.isSigned === actual.isSigned
  }
  if (Arrow.DataType.isFloat(expected) && Arrow.DataType.isFloat(actual)) return expected.precision === actual.precision
  if (Arrow.DataType.isList(expected) && Arrow.DataType.isList(actual)) {
    const child = actual.children[0]
    return child !== undefined && typeMatches(expected.children[0]!.type, child.type)
  }
  if (Arrow.DataType.isStruct(expected) && Arrow.DataType.isStruct(actual)) {
    return expected.children.every((f) => {
      const g = actual.children.find((c) => c.name === f.name)
      return g !== undefined && typeMatches(f.type, g.type)
    })
  }
  return true
}

/**
 * What is wrong with `actual` as a file of the layout `expected` (undefined when it fits): missing and
 * mistyped columns by name, or another layout named in the metadata. Extra columns are allowed;
 * nullability is checked on the data (see `nullProblem`), since many writers mark every field nullable.
 */
export const schemaProblem = (expected: Arrow.Schema, actual: Arrow.Schema): string | undefined => {
  const want = expected.metadata.get(layoutKey)
  const got = actual.metadata.get(layoutKey)
  if (want !== undefined && got !== undefined && got !== want) return `the file holds the layout ${got}, expected ${want}`
  const missing: Array<string> = []
  const mistyped: Array<string> = []
  for (const f of expected.fields) {
    const g = actual.fields.find((c) => c.name === f.name)
    if (g === undefined) missing.push(f.name)
    else if (!typeMatches(f.type, g.type)) mistyped.push(`${f.name} is ${String(g.type)}, expected ${String(f.type)}`)
  }
  const parts = [
    ...(missing.length > 0 ? [`missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`] : []),
    ...mistyped.map((m) => `column ${m}`)
  ]
  return parts.length > 0 ? parts.join("; ") : undefined
}

const nullsIn = (data: Arrow.Data, field: Arrow.Field, name: string): string | undefined => {
  if (!field.nullable && data.nullCount > 0) return `${name} has ${data.nullCount} null value${data.nullCount > 1 ? "s" : ""} but is required`
  const type = field.type
  if (Arrow.DataType.isList(type)) {
    return data.children[0] === undefined ? undefined : nullsIn(data.children[0], type.children[0]!, `${name}[]`)
  }
  if (Arrow.DataType.isStruct(type)) {
    const actual = data.type as Arrow.Struct
    for (const f of type.children) {
      const i = actual.children.findIndex((c) => c.name === f.name)
      const child = data.children[i]
      const problem = child === undefined ? undefined : nullsIn(child, f, `${name}.${f.name}`)
      if (problem !== undefined) return problem
    }
  }
  return undefined
}

/** A null where the layout requires a value, in a batch that passed `schemaProblem` (undefined when none). */
export const nullProblem = (expected: Arrow.Schema, batch: Arrow.RecordBatch): string | undefined => {
  for (const f of expected.fields) {
    const i = batch.schema.fields.findIndex((c) => c.name === f.name)
    const data = batch.data.children[i]
    const problem = data === undefined ? undefined : nullsIn(data, f, f.name)
    if (problem !== undefined) return problem
  }
  return undefined
}

/**
 * What makes `data` unsafe to index (undefined when sound): buffers shorter than its length says,
 * value offsets that decrease or point past their values. Checked on every batch read, so that a
 * corrupt file is an error, never an out-of-bounds read or a loop over a corrupt length.
 */
export const structureProblem = (data: Arrow.Data, name: string): string | undefined => {
  const n = data.length
  if (!Number.isSafeInteger(n) || n < 0) return `${name}: bad length ${n}`
  if (data.nullCount > 0 && data.nullBitmap.length * 8 < data.offset + n) return `${name}: validity bitmap too short`
  const type = data.type
  if (Arrow.DataType.isUtf8(type) || Arrow.DataType.isList(type)) {
    const o = data.valueOffsets as Int32Array
    if (o.length < n + 1) return `${name}: ${o.length} offsets for ${n} values`
    for (let i = 0; i < n; i++) if (o[i + 1]! < o[i]!) return `${name}: offsets decrease at ${i}`
    if (n > 0 && o[0]! < 0) return `${name}: negative offset`
    const end = n === 0 ? 0 : o[n]!
    if (Arrow.DataType.isUtf8(type)) return end > data.values.length ? `${name}: offsets point past the ${data.values.length} bytes of text` : undefined
    const child = data.children[0]
    if (child === undefined) return n === 0 ? undefined : `${name}: list without values`
    if (end > child.length) return `${name}: offsets point past the ${child.length} list values`
    return structureProblem(child, `${name}[]`)
  }
  if (Arrow.DataType.isStruct(type)) {
    for (let i = 0; i < type.children.length; i++) {
      const child = data.children[i]
      if (child === undefined || child.length < n) return `${name}.${type.children[i]!.name}: shorter than its struct`
      const problem = structureProblem(child, `${name}.${type.children[i]!.name}`)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  if (Arrow.DataType.isBool(type)) return data.values.length * 8 < data.offset + n ? `${name}: ${data.values.length} bytes for ${n} booleans` : undefined
  if (Arrow.DataType.isInt(type) || Arrow.DataType.isFloat(type)) return data.values.length < n ? `${name}: ${data.values.length} values for ${n} rows` : undefined
  return undefined
}

/** What is wrong with a batch of a file that passed `schemaProblem`: corrupt buffers, or nulls where values are required. */
const batchProblem = (expected: Arrow.Schema, batch: Arrow.RecordBatch): { readonly corrupt: boolean; readonly text: string } | undefined => {
  for (const f of expected.fields) {
    const data: Arrow.Data | undefined = column(batch, f.name)
    const broken = data === undefined || data.length !== batch.numRows
      ? `column ${f.name} has ${data?.length} rows, the batch ${batch.numRows}`
      : structureProblem(data, f.name)
    if (broken !== undefined) return { corrupt: true, text: broken }
  }
  const nulls = nullProblem(expected, batch)
  return nulls === undefined ? undefined : { corrupt: false, text: nulls }
}

/** The column `name` of a batch that passed `schemaProblem`. */
export const column = <T extends Arrow.DataType>(batch: Arrow.RecordBatch, name: string): Arrow.Data<T> =>
  batch.data.children[batch.schema.fields.findIndex((f) => f.name === name)] as Arrow.Data<T>

/** The child `name` of a struct Data. */
export const field = <T extends Arrow.DataType>(data: Arrow.Data<Arrow.Struct>, name: string): Arrow.Data<T> =>
  data.children[data.type.children.findIndex((f) => f.name === name)] as Arrow.Data<T>

// ---------------------------------------------------------------------------------------------------
// Reading

const notArrow = (path: string, why: string): DataError =>
  new DataError({ reason: "NotArrow", path, message: `${path}: not an Arrow IPC stream${why}` })

/** Why the first bytes cannot start an Arrow IPC stream (continuation marker) or file (`ARROW1`); undefined when they can. */
const headProblem = (head: Uint8Array): string | undefined => {
  if (head.length === 0) return " (empty file)"
  if (head.length >= 6 && String.fromCharCode(...head.subarray(0, 6)) === "ARROW1") return undefined
  if (head.length >= 4 && head[0] === 0xff && head[1] === 0xff && head[2] === 0xff && head[3] === 0xff) return undefined
  return /^\s*[[{]/.test(new TextDecoder().decode(head)) ? " (it looks like JSON)" : ""
}

type AsyncReader = Arrow.AsyncRecordBatchStreamReader | Arrow.AsyncRecordBatchFileReader

/** Opens `path` for reading, in the scope (closed when the scope ends). */
const openHandle = (path: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => fs.promises.open(path, "r"), catch: (e) => ioError(path, e) }),
    (fh) => Effect.promise(() => fh.close().catch(() => undefined))
  )

/**
 * An Arrow reader on the open file `fh`, after its schema message. A regular file is first checked by
 * its first bytes (so that a 2 GB JSON file is refused at once rather than parsed as a giant message
 * length), then read through the FileHandle: Arrow reads each message with one positional read of
 * exactly its size (no chunk joining, the least garbage), and an IPC file gets random access instead of
 * being loaded whole. A pipe or device (`/dev/stdin`) is read as a stream, from where it stands.
 */
const readerOn = (path: string, fh: fs.promises.FileHandle) =>
  Effect.tryPromise({
    try: async (): Promise<AsyncReader | DataError> => {
      const stat = await fh.stat()
      if (stat.isDirectory()) return new DataError({ reason: "Io", path, message: `${path}: is a directory, not a file` })
      if (stat.isFile()) {
        const head = new Uint8Array(8)
        const { bytesRead } = await fh.read(head, 0, 8, 0)
        const problem = headProblem(head.subarray(0, bytesRead))
        if (problem !== undefined) return notArrow(path, problem)
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
        return notArrow(path, problem)
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
    catch: (e) => readError(path, e)
  }).pipe(
    Effect.flatMap((r) => (r instanceof DataError ? Effect.fail(r) : Effect.succeed(r))),
    Effect.flatMap((reader) => {
      const schema: Arrow.Schema | undefined | null = reader.schema
      return schema === undefined || schema === null
        ? Effect.fail(notArrow(path, " (no schema message)"))
        : Effect.succeed({ reader, schema })
    })
  )

/** Opens `path` and an Arrow reader on it, in the scope. */
const open = (path: string) => Effect.flatMap(openHandle(path), (fh) => readerOn(path, fh))

/** Checks the schema and turns the reader's batches into a checked stream (see `openBatches`). */
const checkedBatches = (path: string, expected: Arrow.Schema, reader: AsyncReader, schema: Arrow.Schema) =>
  Effect.gen(function*() {
    // A corrupt schema message can decode to nonsense types: whatever the check throws means NotArrow.
    const problem = yield* Effect.try({ try: () => schemaProblem(expected, schema), catch: (e) => readError(path, e) })
    if (problem !== undefined) return yield* Effect.fail(wrongSchema(path, problem))
    let index = 0
    const batches = Stream.fromAsyncIterable<Arrow.RecordBatch, DataError>(reader, (e) => readError(path, e)).pipe(
      // Arrow JS yields a placeholder batch (no nested buffers) for a stream with a schema and no
      // batches; an empty batch carries nothing anyway.
      Stream.filter((batch) => batch.numRows > 0),
      Stream.mapEffect((batch) => {
        const at = index++
        return Effect.try({ try: () => batchProblem(expected, batch), catch: (e) => readError(path, e) }).pipe(
          Effect.flatMap((problem) =>
            problem === undefined
              ? Effect.succeed(batch)
              : problem.corrupt
              ? Effect.fail(new DataError({ reason: "NotArrow", path, message: `${path}: not a valid Arrow IPC stream (batch ${at} is corrupt: ${problem.text})` }))
              : Effect.fail(wrongSchema(path, `batch ${at}: column ${problem.text}`))
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

// ---------------------------------------------------------------------------------------------------
// Scanning (batches decoded into one reused buffer)

const frameHeader = 8 // continuation marker (0xFFFFFFFF) + int32 metadata length

interface Scanner {
  readonly fh: fs.promises.FileHandle
  readonly size: number
  /** The body buffer, reused (and grown) from batch to batch. */
  body: Uint8Array
}

const readFully = async (fh: fs.promises.FileHandle, into: Uint8Array, position: number): Promise<void> => {
  let done = 0
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done)
    if (bytesRead === 0) throw new Error(`Expected to read ${into.length} bytes at ${position}, but only read ${done}.`)
    done += bytesRead
  }
}

type Frame =
  | { readonly _tag: "End" }
  | { readonly _tag: "Message"; readonly message: Arrow.Message; readonly bodyStart: number; readonly next: number }

/** The IPC message framed at `pos`: its decoded metadata and where its body lies (checked against the file size). */
const readFrame = async (scanner: Scanner, pos: number): Promise<Frame> => {
  // A stream may end without its end-of-stream marker (Arrow's own reader accepts that too).
  if (pos === scanner.size) return { _tag: "End" }
  if (pos + frameHeader > scanner.size) throw new Error(`truncated message header at byte ${pos}`)
  const head = new Uint8Array(frameHeader)
  await readFully(scanner.fh, head, pos)
  const view = new DataView(head.buffer)
  if (view.getInt32(0, true) !== -1) throw new Error(`no message at byte ${pos}`)
  const metaLength = view.getInt32(4, true)
  if (metaLength === 0) return { _tag: "End" }
  const bodyStart = pos + frameHeader + metaLength
  if (metaLength < 0 || bodyStart > scanner.size) {
    throw new Error(`Expected to read ${metaLength} metadata bytes, but only read ${scanner.size - pos - frameHeader}.`)
  }
  const meta = new Uint8Array(metaLength)
  await readFully(scanner.fh, meta, pos + frameHeader)
  const message = Arrow.Message.decode(meta)
  const next = bodyStart + Number(message.bodyLength)
  if (!Number.isSafeInteger(next) || next < bodyStart || next > scanner.size) {
    throw new Error(`Expected to read ${message.bodyLength} bytes for message body, but only read ${scanner.size - bodyStart}.`)
  }
  return { _tag: "Message", message, bodyStart, next }
}

/** The record batch in the frame, decoded into the scanner's reused body buffer. */
const loadBatch = async (scanner: Scanner, schema: Arrow.Schema, frame: Frame & { _tag: "Message" }): Promise<Arrow.RecordBatch> => {
  const header = frame.message.header() as RecordBatchHeader
  if (header.compression !== null) throw new Error("a compressed record batch after uncompressed ones")
  const length = frame.next - frame.bodyStart
  if (scanner.body.length < length) scanner.body = new Uint8Array(Math.max(length, 2 * scanner.body.length))
  const body = scanner.body.subarray(0, length)
  await readFully(scanner.fh, body, frame.bodyStart)
  const children = new VectorLoader(body, header.nodes, header.buffers, new Map(), schema.metadataVersion, header.variadicBufferCounts)
    .visitMany(schema.fields)
  return new Arrow.RecordBatch(schema, Arrow.makeData({ type: new Arrow.Struct(schema.fields), length: header.length, children }))
}

/**
 * Like `openBatches`, but every batch is decoded into one body buffer reused from batch to batch, so
 * a batch is valid only until the next one is pulled: for folds that keep nothing of a batch
 * (statistics), reading allocates nothing per batch and memory stays flat whatever the file's size.
 * A pipe, an IPC file (`ARROW1`), compressed or dictionary-encoded batches are read by `openBatches`.
 */
export const openScan = (path: string, expected: Arrow.Schema) =>
  Effect.gen(function*() {
    const fh = yield* openHandle(path)
    const start = yield* Effect.tryPromise({
      try: async (): Promise<DataError | "fallback" | { scanner: Scanner; schema: Arrow.Schema; first: number }> => {
        const stat = await fh.stat()
        if (stat.isDirectory()) return new DataError({ reason: "Io", path, message: `${path}: is a directory, not a file` })
        if (!stat.isFile()) return "fallback" // a pipe: nothing read from it yet
        const head = new Uint8Array(8)
        const { bytesRead } = await fh.read(head, 0, 8, 0)
        const problem = headProblem(head.subarray(0, bytesRead))
        if (problem !== undefined) return notArrow(path, problem)
        if (head[0] !== 0xff) return "fallback" // ARROW1: an IPC file
        const scanner: Scanner = { fh, size: stat.size, body: new Uint8Array(0) }
        const frame = await readFrame(scanner, 0)
        if (frame._tag === "End" || !frame.message.isSchema()) return notArrow(path, " (no schema message)")
        const schema = frame.message.header()
        if (schema.dictionaries.size > 0) return "fallback"
        const second = await readFrame(scanner, frame.next)
        if (second._tag === "Message" && second.message.isRecordBatch() && second.message.header().compression !== null) return "fallback"
        return { scanner, schema, first: frame.next }
      },
      catch: (e) => readError(path, e)
    })
    if (start === "fallback") {
      // On the handle already open: a pipe cannot be opened twice (its writer may be gone).
      const { reader, schema } = yield* readerOn(path, fh)
      return yield* checkedBatches(path, expected, reader, schema)
    }
    if (start instanceof DataError) return yield* Effect.fail(start)
    const { scanner, schema } = start
    const problem = yield* Effect.try({ try: () => schemaProblem(expected, schema), catch: (e) => readError(path, e) })
    if (problem !== undefined) return yield* Effect.fail(wrongSchema(path, problem))
    let index = 0
    const batches = Stream.paginate(start.first, (pos: number) =>
      Effect.tryPromise({
        try: async (): Promise<readonly [ReadonlyArray<Arrow.RecordBatch>, Option.Option<number>]> => {
          const frame = await readFrame(scanner, pos)
          if (frame._tag === "End") return [[], Option.none()]
          if (!frame.message.isRecordBatch()) throw new Error(`unexpected ${Arrow.MessageHeader[frame.message.headerType]} message at byte ${pos}`)
          const batch = await loadBatch(scanner, schema, frame)
          if (batch.numRows === 0) return [[], Option.some(frame.next)]
          const at = index++
          const bad = batchProblem(expected, batch)
          if (bad === undefined) return [[batch], Option.some(frame.next)]
          throw bad.corrupt
            ? new DataError({ reason: "NotArrow", path, message: `${path}: not a valid Arrow IPC stream (batch ${at} is corrupt: ${bad.text})` })
            : wrongSchema(path, `batch ${at}: column ${bad.text}`)
        },
        catch: (e) => readError(path, e)
      })
    )
    return { schema, batches }
  })

/** The schema of the Arrow file at `path` (reads only the schema message). */
export const readSchema = (path: string): Effect.Effect<Arrow.Schema, DataError> =>
  Effect.scoped(Effect.map(open(path), ({ schema }) => schema))

// ---------------------------------------------------------------------------------------------------
// Writing

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
    Effect.tryPromise({ try: () => fs.promises.open(tmp, "w"), catch: (e) => ioError(path, e) }),
    (fh) =>
      Effect.gen(function*() {
        const pending = new Pending()
        const writer = new Arrow.RecordBatchStreamWriter()
        writer.reset(pending, schema)
        const flush = Effect.suspend(() => {
          const chunks = pending.take()
          return Effect.tryPromise({ try: () => writeAll(fh, chunks), catch: (e) => ioError(path, e) })
        })
        let rows = 0
        yield* Stream.runForEach(self, (batch) =>
          Effect.suspend(() => {
            // The Arrow writer silently ends the stream on a batch of another schema: refuse it instead.
            if (batch.schema !== schema) {
              const same = batch.schema.fields.length === schema.fields.length &&
                batch.schema.fields.every((f, i) => f.name === schema.fields[i]!.name) &&
                schemaProblem(schema, batch.schema) === undefined
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
        yield* Effect.tryPromise({ try: () => fh.close(), catch: (e) => ioError(path, e) })
        yield* Effect.tryPromise({ try: () => fs.promises.rename(tmp, path), catch: (e) => ioError(path, e) })
        return rows
      }),
    (fh, exit) =>
      Effect.promise(async () => {
        if (!closed) await fh.close().catch(() => undefined)
        if (Exit.isFailure(exit)) await fs.promises.rm(tmp, { force: true }).catch(() => undefined)
      })
  )
}

// ---------------------------------------------------------------------------------------------------
// Column codecs

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A validity bitmap for `n` values (bit i set when `present(i)`), and the null count; empty when none is null. */
export const validity = (n: number, present: (i: number) => boolean): { readonly nullBitmap: Uint8Array; readonly nullCount: number } => {
  let nullCount = 0
  for (let i = 0; i < n; i++) if (!present(i)) nullCount++
  if (nullCount === 0) return { nullBitmap: new Uint8Array(0), nullCount }
  const nullBitmap = new Uint8Array((n + 7) >> 3)
  for (let i = 0; i < n; i++) if (present(i)) nullBitmap[i >> 3]! |= 1 << (i & 7)
  return { nullBitmap, nullCount }
}

/** A Utf8 column from strings (`undefined` is null): one buffer for all the bytes, one offsets array. */
export const utf8Data = (values: ReadonlyArray<string | undefined>): Arrow.Data<Arrow.Utf8> => {
  const n = values.length
  const offsets = new Int32Array(n + 1)
  let bytes = 0
  for (let i = 0; i < n; i++) {
    const s = values[i]
    if (s !== undefined) bytes += Buffer.byteLength(s, "utf8")
    offsets[i + 1] = bytes
  }
  if (bytes > 0x7fffffff) throw new RangeError(`a batch holds ${bytes} bytes of text in one column, more than Utf8's 2 GiB: use a smaller batch size`)
  const data = new Uint8Array(bytes)
  for (let i = 0; i < n; i++) {
    const s = values[i]
    if (s !== undefined && s.length > 0) encoder.encodeInto(s, data.subarray(offsets[i]!, offsets[i + 1]!))
  }
  const { nullBitmap, nullCount } = validity(n, (i) => values[i] !== undefined)
  return Arrow.makeData({ type: new Arrow.Utf8(), length: n, nullCount, nullBitmap, valueOffsets: offsets, data })
}

/** A Bool column (`null` or `undefined` is null). */
export const boolData = (values: ReadonlyArray<boolean | null | undefined>): Arrow.Data<Arrow.Bool> => {
  const n = values.length
  const data = new Uint8Array((n + 7) >> 3)
  for (let i = 0; i < n; i++) if (values[i] === true) data[i >> 3]! |= 1 << (i & 7)
  const { nullBitmap, nullCount } = validity(n, (i) => values[i] !== null && values[i] !== undefined)
  return Arrow.makeData({ type: new Arrow.Bool(), length: n, nullCount, nullBitmap, data })
}

/** Whether value `i` of `data` is non-null. */
export const isValid = (data: Arrow.Data, i: number): boolean => {
  if (data.nullCount <= 0) return true
  const bit = data.offset + i
  return (data.nullBitmap[bit >> 3]! & (1 << (bit & 7))) !== 0
}

/** The string at `i` of a Utf8 Data (ignores validity: check `isValid` for nullable columns). */
export const utf8At = (data: Arrow.Data<Arrow.Utf8>, i: number): string => {
  const o = data.valueOffsets
  return decoder.decode(data.values.subarray(o[i]!, o[i + 1]!))
}

/** The boolean at `i` of a Bool Data (ignores validity). */
export const boolAt = (data: Arrow.Data<Arrow.Bool>, i: number): boolean => {
  const bit = data.offset + i
  return (data.values[bit >> 3]! & (1 << (bit & 7))) !== 0
}
