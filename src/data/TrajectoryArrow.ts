/**
 * The text layout of trajectories in an Arrow IPC stream (`.arrows`): one row per trajectory, steps as
 * a `List<Struct<observation, thought, action, raw>>`. Column by column in docs/data-format.md.
 *
 * Reading is lazy (one record batch in memory at a time); writing is incremental, batch by batch, with
 * backpressure, and atomic (see src/data/ArrowRead.ts and ArrowWrite.ts).
 */
import * as Arrow from "apache-arrow"
import { Effect, Stream } from "effect"
import { DataError } from "../domain/DataError.ts"
import type { Step } from "../domain/Step.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as ArrowCheck from "./ArrowCheck.ts"
import * as ArrowColumns from "./ArrowColumns.ts"
import * as ArrowRead from "./ArrowRead.ts"
import * as ArrowScan from "./ArrowScan.ts"
import * as ArrowWrite from "./ArrowWrite.ts"

/** Layout name and version, stored under the `stepagent.schema` key of the schema metadata. */
export const layout = "trajectory-text/1"

/**
 * Rows per record batch. A batch of long web-agent trajectories (~50 KB of text each) stays ~13 MB, far
 * inside the 300 MB budget even with its decoded copy, while for short ones the per-batch cost (~2 KB of
 * metadata, one awaited write) stays under 1% of the bytes.
 */
export const defaultBatchSize = 256

const utf8 = (name: string, nullable: boolean) => new Arrow.Field(name, new Arrow.Utf8(), nullable)

export const stepStruct = new Arrow.Struct([
  utf8("observation", false),
  utf8("thought", true),
  utf8("action", false),
  utf8("raw", true)
])
const stepsType = new Arrow.List(new Arrow.Field("item", stepStruct, false))
const turnLossType = new Arrow.List(new Arrow.Field("item", new Arrow.Bool(), true))

/** The Arrow schema of the text layout. */
export const schema = new Arrow.Schema(
  [
    utf8("id", false),
    utf8("env", false),
    utf8("taskId", false),
    utf8("instruction", false),
    utf8("ack", true),
    new Arrow.Field("steps", stepsType, false),
    utf8("finalObservation", true),
    new Arrow.Field("reward", new Arrow.Float64(), false),
    new Arrow.Field("success", new Arrow.Bool(), false),
    utf8("source", false),
    new Arrow.Field("turnLoss", turnLossType, true)
  ],
  new Map([[ArrowCheck.layoutKey, layout]])
)

// ---------------------------------------------------------------------------------------------------
// Encoding

/** One record batch of the text layout from trajectories (throws RangeError past Utf8's 2 GiB per column). */
export const toRecordBatch = (rows: ReadonlyArray<Trajectory>): Arrow.RecordBatch => {
  const n = rows.length
  const stepOffsets = new Int32Array(n + 1)
  const steps: Array<Step> = []
  const lossOffsets = new Int32Array(n + 1)
  const losses: Array<boolean | null> = []
  for (let i = 0; i < n; i++) {
    const r = rows[i]!
    for (const s of r.steps) steps.push(s)
    stepOffsets[i + 1] = steps.length
    if (r.turnLoss !== undefined) for (const l of r.turnLoss) losses.push(l)
    lossOffsets[i + 1] = losses.length
  }
  const stepData = Arrow.makeData({
    type: stepStruct,
    length: steps.length,
    nullCount: 0,
    children: [
      ArrowColumns.utf8Data(steps.map((s) => s.observation)),
      ArrowColumns.utf8Data(steps.map((s) => s.thought)),
      ArrowColumns.utf8Data(steps.map((s) => s.action)),
      ArrowColumns.utf8Data(steps.map((s) => s.raw))
    ]
  })
  const lossValidity = ArrowColumns.validity(n, (i) => rows[i]!.turnLoss !== undefined)
  const children: Array<Arrow.Data> = [
    ArrowColumns.utf8Data(rows.map((r) => r.id)),
    ArrowColumns.utf8Data(rows.map((r) => r.env)),
    ArrowColumns.utf8Data(rows.map((r) => r.taskId)),
    ArrowColumns.utf8Data(rows.map((r) => r.instruction)),
    ArrowColumns.utf8Data(rows.map((r) => r.ack)),
    Arrow.makeData({ type: stepsType, length: n, nullCount: 0, valueOffsets: stepOffsets, child: stepData }),
    ArrowColumns.utf8Data(rows.map((r) => r.finalObservation)),
    Arrow.makeData({ type: new Arrow.Float64(), length: n, nullCount: 0, data: Float64Array.from(rows, (r) => r.reward) }),
    ArrowColumns.boolData(rows.map((r) => r.success)),
    ArrowColumns.utf8Data(rows.map((r) => r.source)),
    Arrow.makeData({
      type: turnLossType,
      length: n,
      nullCount: lossValidity.nullCount,
      nullBitmap: lossValidity.nullBitmap,
      valueOffsets: lossOffsets,
      child: ArrowColumns.boolData(losses)
    })
  ]
  return new Arrow.RecordBatch(schema, Arrow.makeData({ type: new Arrow.Struct(schema.fields), length: n, nullCount: 0, children }))
}

// ---------------------------------------------------------------------------------------------------
// Decoding

/** Decodes row `i` of a batch that passed the schema check; built once per batch. */
export const rowDecoder = (batch: Arrow.RecordBatch): (i: number) => Trajectory => {
  const col = <T extends Arrow.DataType>(name: string) => ArrowColumns.column<T>(batch, name)
  const id = col<Arrow.Utf8>("id")
  const env = col<Arrow.Utf8>("env")
  const taskId = col<Arrow.Utf8>("taskId")
  const instruction = col<Arrow.Utf8>("instruction")
  const ack = col<Arrow.Utf8>("ack")
  const steps = col<Arrow.List<Arrow.Struct>>("steps")
  const finalObservation = col<Arrow.Utf8>("finalObservation")
  const reward = col<Arrow.Float64>("reward")
  const success = col<Arrow.Bool>("success")
  const source = col<Arrow.Utf8>("source")
  const turnLoss = col<Arrow.List<Arrow.Bool>>("turnLoss")
  const stepData = steps.children[0] as Arrow.Data<Arrow.Struct>
  const observation = ArrowColumns.field<Arrow.Utf8>(stepData, "observation")
  const thought = ArrowColumns.field<Arrow.Utf8>(stepData, "thought")
  const action = ArrowColumns.field<Arrow.Utf8>(stepData, "action")
  const raw = ArrowColumns.field<Arrow.Utf8>(stepData, "raw")
  const lossValues = turnLoss.children[0] as Arrow.Data<Arrow.Bool>
  const optional = (data: Arrow.Data<Arrow.Utf8>, i: number): string | undefined =>
    ArrowColumns.isValid(data, i) ? ArrowColumns.utf8At(data, i) : undefined

  return (i) => {
    const stepList: Array<Step> = []
    for (let j = steps.valueOffsets[i]!, end = steps.valueOffsets[i + 1]!; j < end; j++) {
      const t = optional(thought, j)
      const r = optional(raw, j)
      stepList.push({
        observation: ArrowColumns.utf8At(observation, j),
        ...(t === undefined ? {} : { thought: t }),
        action: ArrowColumns.utf8At(action, j),
        ...(r === undefined ? {} : { raw: r })
      })
    }
    const a = optional(ack, i)
    const f = optional(finalObservation, i)
    let loss: Array<boolean | null> | undefined
    if (ArrowColumns.isValid(turnLoss, i)) {
      loss = []
      for (let j = turnLoss.valueOffsets[i]!, end = turnLoss.valueOffsets[i + 1]!; j < end; j++) {
        loss.push(ArrowColumns.isValid(lossValues, j) ? ArrowColumns.boolAt(lossValues, j) : null)
      }
    }
    return {
      id: ArrowColumns.utf8At(id, i),
      env: ArrowColumns.utf8At(env, i),
      taskId: ArrowColumns.utf8At(taskId, i),
      instruction: ArrowColumns.utf8At(instruction, i),
      ...(a === undefined ? {} : { ack: a }),
      steps: stepList,
      ...(f === undefined ? {} : { finalObservation: f }),
      reward: reward.values[i]!,
      success: ArrowColumns.boolAt(success, i),
      source: ArrowColumns.utf8At(source, i),
      ...(loss === undefined ? {} : { turnLoss: loss })
    }
  }
}

/** All the trajectories of one batch. */
export const decodeBatch = (batch: Arrow.RecordBatch): Array<Trajectory> => {
  if (batch.numRows === 0) return []
  const decode = rowDecoder(batch)
  const out: Array<Trajectory> = new Array(batch.numRows)
  for (let i = 0; i < batch.numRows; i++) out[i] = decode(i)
  return out
}

// ---------------------------------------------------------------------------------------------------
// IO

/** Opens a text-layout file in the scope: its schema and its record batches, lazily (see ArrowRead.openBatches). */
export const openBatches = (path: string) => ArrowRead.openBatches(path, schema)

/** Like `openBatches`, with each batch valid only until the next is pulled (see ArrowScan.openScan): for folds. */
export const openScan = (path: string) => ArrowScan.openScan(path, schema)

/** The record batches of a text-layout file, lazily, schema checked (DataError NotFound | NotArrow | WrongSchema | Io). */
export const readBatches = (path: string): Stream.Stream<Arrow.RecordBatch, DataError> => ArrowRead.readBatches(path, schema)

/** The trajectories of a text-layout file, lazily (one batch decoded at a time). */
export const read = (path: string): Stream.Stream<Trajectory, DataError> =>
  readBatches(path).pipe(Stream.map(decodeBatch), Stream.flattenIterable)

/**
 * Writes trajectories to `path` in the text layout, `batchSize` rows a batch (default `defaultBatchSize`),
 * incrementally with backpressure and atomically. Returns the number of rows written.
 */
export const write = (path: string, options?: { readonly batchSize?: number }) =>
<E, R>(self: Stream.Stream<Trajectory, E, R>): Effect.Effect<number, E | DataError, R> =>
  self.pipe(
    Stream.grouped(Math.max(1, Math.floor(options?.batchSize ?? defaultBatchSize))),
    Stream.mapEffect((rows) =>
      Effect.try({
        try: () => toRecordBatch(rows),
        catch: (e) => new DataError({ reason: "Encode", path, message: `${path}: ${e instanceof Error ? e.message : String(e)}` })
      })
    ),
    ArrowWrite.writeBatches(path, schema)
  )
