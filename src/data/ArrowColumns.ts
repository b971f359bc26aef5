/**
 * The columns of a record batch: finding a column or a struct's child by name, and the few codecs
 * (UTF-8, validity, booleans) the trajectory layout builds and reads its batches with.
 *
 * Index conventions of Arrow JS `Data` (checked against apache-arrow 21's own getters): value offsets
 * and fixed-width value buffers are already sliced to the Data (index `i`), while validity bitmaps and
 * boolean bit-buffers are indexed by `offset + i`. Buffers read from IPC are padded: every loop here is
 * bounded by `data.length`, never by a buffer's length.
 */
import * as Arrow from "apache-arrow"

/** The column `name` of a batch that passed `schemaProblem`. */
export const column = <T extends Arrow.DataType>(batch: Arrow.RecordBatch, name: string): Arrow.Data<T> =>
  batch.data.children[batch.schema.fields.findIndex((f) => f.name === name)] as Arrow.Data<T>

/** The child `name` of a struct Data. */
export const field = <T extends Arrow.DataType>(data: Arrow.Data<Arrow.Struct>, name: string): Arrow.Data<T> =>
  data.children[data.type.children.findIndex((f) => f.name === name)] as Arrow.Data<T>

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
