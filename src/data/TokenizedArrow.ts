/**
 * The tokenized layout of trajectories in an Arrow IPC stream: one row per trajectory with its token
 * ids as `tokens: List<Int32>` and its per-step spans as `spans: List<Int32>` ([obsStart, obsEnd,
 * actStart, actEnd] per step, flattened; see src/domain/Tokenized.ts). Column by column in docs/data-format.md.
 *
 * Zero copy both ways: a batch is built with one concatenation of all token arrays (and one of all
 * spans), and a reader's `tokens`/`spans` are subarray views of the batch's Arrow buffers.
 */
import * as Arrow from "apache-arrow"
import { Effect, Stream } from "effect"
import { DataError } from "../domain/DataError.ts"
import type { TokenizedTrajectory } from "../domain/Tokenized.ts"
import * as ArrowStream from "./ArrowStream.ts"

/** Layout name and version, stored under the `stepagent.schema` key of the schema metadata. */
export const layout = "trajectory-tokens/1"

/** Schema metadata key for the content hash of the tokenizer that produced the tokens. */
export const tokenizerKey = "stepagent.tokenizer"

/**
 * Rows per record batch. 256 trajectories of ~4k tokens are ~4 MB of Int32, a comfortable unit to turn
 * into tensors, while per-batch metadata stays negligible.
 */
export const defaultBatchSize = 256

const int32List = new Arrow.List(new Arrow.Field("item", new Arrow.Int32(), false))

const fields = [
  new Arrow.Field("id", new Arrow.Utf8(), false),
  new Arrow.Field("env", new Arrow.Utf8(), false),
  new Arrow.Field("taskId", new Arrow.Utf8(), false),
  new Arrow.Field("reward", new Arrow.Float64(), false),
  new Arrow.Field("success", new Arrow.Bool(), false),
  new Arrow.Field("tokens", int32List, false),
  new Arrow.Field("spans", int32List, false)
]

/** The Arrow schema of the tokenized layout (the tokenizer hash, when known, is added by `write`). */
export const schema = new Arrow.Schema(fields, new Map([[ArrowStream.layoutKey, layout]]))

const schemaWith = (tokenizerHash: string | undefined): Arrow.Schema =>
  tokenizerHash === undefined
    ? schema
    : new Arrow.Schema(fields, new Map([[ArrowStream.layoutKey, layout], [tokenizerKey, tokenizerHash]]))

/** A `List<Int32>` column from rows of Int32Array: one concatenation into a single values buffer, one offsets array. */
const int32ListData = (rows: ReadonlyArray<Int32Array>): Arrow.Data<Arrow.List<Arrow.Int32>> => {
  const n = rows.length
  const offsets = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + rows[i]!.length
  const values = new Int32Array(offsets[n]!)
  for (let i = 0; i < n; i++) values.set(rows[i]!, offsets[i]!)
  const child = Arrow.makeData({ type: new Arrow.Int32(), length: values.length, nullCount: 0, data: values })
  return Arrow.makeData({ type: int32List, length: n, nullCount: 0, valueOffsets: offsets, child })
}

/**
 * One record batch from many tokenized trajectories. Tokens (and spans) of all rows are concatenated
 * once into one Int32Array that becomes the Arrow values buffer as is: no other copy.
 */
export const toRecordBatch = (rows: ReadonlyArray<TokenizedTrajectory>, tokenizerHash?: string): Arrow.RecordBatch =>
  batchOf(rows, schemaWith(tokenizerHash))

const batchOf = (rows: ReadonlyArray<TokenizedTrajectory>, s: Arrow.Schema): Arrow.RecordBatch => {
  const n = rows.length
  const children: Array<Arrow.Data> = [
    ArrowStream.utf8Data(rows.map((r) => r.id)),
    ArrowStream.utf8Data(rows.map((r) => r.env)),
    ArrowStream.utf8Data(rows.map((r) => r.taskId)),
    Arrow.makeData({ type: new Arrow.Float64(), length: n, nullCount: 0, data: Float64Array.from(rows, (r) => r.reward) }),
    ArrowStream.boolData(rows.map((r) => r.success)),
    int32ListData(rows.map((r) => r.tokens)),
    int32ListData(rows.map((r) => r.spans))
  ]
  return new Arrow.RecordBatch(s, Arrow.makeData({ type: new Arrow.Struct(s.fields), length: n, nullCount: 0, children }))
}

/** Row `i` of a `List<Int32>` Data as a view of its values buffer (no copy), bounded by the value offsets. */
export const int32ListAt = (data: Arrow.Data<Arrow.List<Arrow.Int32>>, i: number): Int32Array => {
  const values = (data.children[0] as Arrow.Data<Arrow.Int32>).values
  return values.subarray(data.valueOffsets[i]!, data.valueOffsets[i + 1]!)
}

/** The tokenized trajectories of one batch; `tokens` and `spans` are views into the batch's buffers. */
export const decodeBatch = (batch: Arrow.RecordBatch): Array<TokenizedTrajectory> => {
  if (batch.numRows === 0) return []
  const id = ArrowStream.column<Arrow.Utf8>(batch, "id")
  const env = ArrowStream.column<Arrow.Utf8>(batch, "env")
  const taskId = ArrowStream.column<Arrow.Utf8>(batch, "taskId")
  const reward = ArrowStream.column<Arrow.Float64>(batch, "reward")
  const success = ArrowStream.column<Arrow.Bool>(batch, "success")
  const tokens = ArrowStream.column<Arrow.List<Arrow.Int32>>(batch, "tokens")
  const spans = ArrowStream.column<Arrow.List<Arrow.Int32>>(batch, "spans")
  const out: Array<TokenizedTrajectory> = new Array(batch.numRows)
  for (let i = 0; i < batch.numRows; i++) {
    out[i] = {
      id: ArrowStream.utf8At(id, i),
      env: ArrowStream.utf8At(env, i),
      taskId: ArrowStream.utf8At(taskId, i),
      reward: reward.values[i]!,
      success: ArrowStream.boolAt(success, i),
      tokens: int32ListAt(tokens, i),
      spans: int32ListAt(spans, i)
    }
  }
  return out
}

/** The record batches of a tokenized file, lazily, schema checked. */
export const readBatches = (path: string): Stream.Stream<Arrow.RecordBatch, DataError> => ArrowStream.readBatches(path, schema)

/** The tokenized trajectories of a file, lazily; `tokens`/`spans` are views into each batch's buffers. */
export const read = (path: string): Stream.Stream<TokenizedTrajectory, DataError> =>
  readBatches(path).pipe(Stream.map(decodeBatch), Stream.flattenIterable)

/** The tokenizer hash recorded in a tokenized file's metadata, if any. */
export const tokenizerHash = (path: string): Effect.Effect<string | undefined, DataError> =>
  Effect.map(ArrowStream.readSchema(path), (s) => s.metadata.get(tokenizerKey))

/**
 * Writes tokenized trajectories to `path`, `batchSize` rows a batch (default `defaultBatchSize`),
 * incrementally with backpressure and atomically; `tokenizerHash` is recorded in the schema metadata.
 * Returns the number of rows written.
 */
export const write = (path: string, options?: { readonly batchSize?: number; readonly tokenizerHash?: string }) =>
<E, R>(self: Stream.Stream<TokenizedTrajectory, E, R>): Effect.Effect<number, E | DataError, R> => {
  const s = schemaWith(options?.tokenizerHash)
  return self.pipe(
    Stream.grouped(Math.max(1, Math.floor(options?.batchSize ?? defaultBatchSize))),
    Stream.mapEffect((rows) =>
      Effect.try({
        try: () => batchOf(rows, s),
        catch: (e) => new DataError({ reason: "Encode", path, message: `${path}: ${e instanceof Error ? e.message : String(e)}` })
      })
    ),
    ArrowStream.writeBatches(path, s)
  )
}
