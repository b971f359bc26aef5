/**
 * Scanning an Arrow IPC stream: its record batches decoded one after another into one reused body
 * buffer, for folds that keep nothing of a batch (statistics: `data inspect`).
 */
import * as Arrow from "apache-arrow"
import type { RecordBatch as RecordBatchHeader } from "apache-arrow/ipc/metadata/message"
import { VectorLoader } from "apache-arrow/visitor/vectorloader"
import { Effect, Option, Stream } from "effect"
import type * as fs from "node:fs"
import { DataError } from "../domain/DataError.ts"
import * as ArrowCheck from "./ArrowCheck.ts"
import * as ArrowError from "./ArrowError.ts"
import * as ArrowMetadataGuard from "./ArrowMetadataGuard.ts"
import * as ArrowRead from "./ArrowRead.ts"

ArrowMetadataGuard.install()

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
 * Like `ArrowRead.openBatches`, but every batch is decoded into one body buffer reused from batch to batch, so
 * a batch is valid only until the next one is pulled: for folds that keep nothing of a batch
 * (statistics), reading allocates nothing per batch and memory stays flat whatever the file's size.
 * A pipe, an IPC file (`ARROW1`), compressed or dictionary-encoded batches are read by `ArrowRead.openBatches`.
 */
export const openScan = (path: string, expected: Arrow.Schema) =>
  Effect.gen(function*() {
    const fh = yield* ArrowRead.openHandle(path)
    const start = yield* Effect.tryPromise({
      try: async (): Promise<DataError | "fallback" | { scanner: Scanner; schema: Arrow.Schema; first: number }> => {
        const stat = await fh.stat()
        if (stat.isDirectory()) return new DataError({ reason: "Io", path, message: `${path}: is a directory, not a file` })
        if (!stat.isFile()) return "fallback" // a pipe: nothing read from it yet
        const head = new Uint8Array(8)
        const { bytesRead } = await fh.read(head, 0, 8, 0)
        const problem = ArrowRead.headProblem(head.subarray(0, bytesRead))
        if (problem !== undefined) return ArrowError.notArrow(path, problem)
        if (head[0] !== 0xff) return "fallback" // ARROW1: an IPC file
        const scanner: Scanner = { fh, size: stat.size, body: new Uint8Array(0) }
        const frame = await readFrame(scanner, 0)
        if (frame._tag === "End" || !frame.message.isSchema()) return ArrowError.notArrow(path, " (no schema message)")
        const schema = frame.message.header()
        if (schema.dictionaries.size > 0) return "fallback"
        const second = await readFrame(scanner, frame.next)
        if (second._tag === "Message" && second.message.isRecordBatch() && second.message.header().compression !== null) return "fallback"
        return { scanner, schema, first: frame.next }
      },
      catch: (e) => ArrowError.readError(path, e)
    })
    if (start === "fallback") {
      // On the handle already open: a pipe cannot be opened twice (its writer may be gone).
      const { reader, schema } = yield* ArrowRead.readerOn(path, fh)
      return yield* ArrowRead.checkedBatches(path, expected, reader, schema)
    }
    if (start instanceof DataError) return yield* Effect.fail(start)
    const { scanner, schema } = start
    const problem = yield* Effect.try({ try: () => ArrowCheck.schemaProblem(expected, schema), catch: (e) => ArrowError.readError(path, e) })
    if (problem !== undefined) return yield* Effect.fail(ArrowError.wrongSchema(path, problem))
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
          const bad = ArrowCheck.batchProblem(expected, batch)
          if (bad === undefined) return [[batch], Option.some(frame.next)]
          throw bad.corrupt
            ? new DataError({ reason: "NotArrow", path, message: `${path}: not a valid Arrow IPC stream (batch ${at} is corrupt: ${bad.text})` })
            : ArrowError.wrongSchema(path, `batch ${at}: column ${bad.text}`)
        },
        catch: (e) => ArrowError.readError(path, e)
      })
    )
    return { schema, batches }
  })
