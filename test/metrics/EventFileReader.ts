/**
 * A reader of TensorBoard event files written for the tests from the format's specification, independent of the
 * writer's libraries (protobufjs, @aws-crypto/crc32c):
 * - TFRecord framing (tensorboard/summary/writer/record_writer.py): `uint64 length (LE) | uint32 masked CRC-32C of the
 *   8 length bytes | data | uint32 masked CRC-32C of data`, mask = `((crc >>> 15) | (crc << 17)) + 0xa282ead8`;
 *   CRC-32C computed here with its own table (Castagnoli, reflected polynomial 0x82f63b78).
 * - The protobuf wire format by hand: varints, fixed64, fixed32, length-delimited fields; the fields of `Event`,
 *   `Summary.Value`, `SummaryMetadata`, `TensorProto` by number as tensorboard/compat/proto/*.proto number them.
 * A CRC that does not match throws; a last record cut short ends the records with `truncated: true`.
 */

const TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

export const crc32c = (bytes: Uint8Array): number => {
  let c = 0xffffffff
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

export const masked = (bytes: Uint8Array): number => {
  const c = crc32c(bytes)
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0
}

/** The records' data, in order; `truncated` when the file ends inside a record. Throws on a CRC mismatch. */
export const records = (file: Uint8Array): { readonly data: ReadonlyArray<Uint8Array>; readonly truncated: boolean } => {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
  const data: Array<Uint8Array> = []
  let at = 0
  while (at < file.length) {
    if (file.length - at < 12) return { data, truncated: true }
    const length = Number(view.getBigUint64(at, true))
    if (view.getUint32(at + 8, true) !== masked(file.subarray(at, at + 8))) throw new Error(`record ${data.length}: length CRC mismatch at byte ${at}`)
    if (file.length - at < 12 + length + 4) return { data, truncated: true }
    const body = file.subarray(at + 12, at + 12 + length)
    if (view.getUint32(at + 12 + length, true) !== masked(body)) throw new Error(`record ${data.length}: data CRC mismatch at byte ${at}`)
    data.push(body)
    at += 12 + length + 4
  }
  return { data, truncated: false }
}

type Field =
  | { readonly wire: 0; readonly value: bigint }
  | { readonly wire: 1 | 2 | 5; readonly value: Uint8Array }

/** A message's fields by number, each occurrence in order. */
export const fields = (bytes: Uint8Array): Map<number, Array<Field>> => {
  const out = new Map<number, Array<Field>>()
  let at = 0
  const varint = (): bigint => {
    let v = 0n
    for (let shift = 0n;; shift += 7n) {
      if (at >= bytes.length) throw new Error("varint past the end")
      const b = bytes[at++]!
      v |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return v
    }
  }
  const take = (n: number): Uint8Array => {
    if (at + n > bytes.length) throw new Error("field past the end")
    const s = bytes.subarray(at, at + n)
    at += n
    return s
  }
  while (at < bytes.length) {
    const key = varint()
    const number = Number(key >> 3n)
    const wire = Number(key & 7n)
    const field: Field = wire === 0
      ? { wire, value: varint() }
      : wire === 1
      ? { wire, value: take(8) }
      : wire === 2
      ? { wire, value: take(Number(varint())) }
      : wire === 5
      ? { wire, value: take(4) }
      : (() => {
        throw new Error(`wire type ${wire}`)
      })()
    out.set(number, [...(out.get(number) ?? []), field])
  }
  return out
}

const last = (f: Map<number, Array<Field>>, n: number): Field | undefined => f.get(n)?.at(-1)
const bytesOf = (field: Field | undefined): Uint8Array | undefined => field !== undefined && field.wire !== 0 ? field.value : undefined
const text = (field: Field | undefined): string | undefined => {
  const b = bytesOf(field)
  return b === undefined ? undefined : new TextDecoder("utf-8", { fatal: true }).decode(b)
}
const int = (field: Field | undefined): number => field !== undefined && field.wire === 0 ? Number(BigInt.asIntN(64, field.value)) : 0

export interface Value {
  readonly tag: string
  /** `simple_value`, a float32 widened. */
  readonly simpleValue?: number
  readonly pluginName?: string
  readonly tensor?: { readonly dtype: number; readonly rank: number; readonly strings: ReadonlyArray<string> }
}

export interface Event {
  readonly wallTime: number
  readonly step: number
  readonly fileVersion?: string
  readonly values?: ReadonlyArray<Value>
}

const value = (bytes: Uint8Array): Value => {
  const f = fields(bytes)
  const simple = bytesOf(last(f, 2))
  const metadata = bytesOf(last(f, 9))
  const pluginData = metadata === undefined ? undefined : bytesOf(last(fields(metadata), 1))
  const pluginName = pluginData === undefined ? undefined : text(last(fields(pluginData), 1))
  const tensor = bytesOf(last(f, 8))
  const t = tensor === undefined ? undefined : fields(tensor)
  const shape = t === undefined ? undefined : bytesOf(last(t, 2))
  return {
    tag: text(last(f, 1)) ?? "",
    ...(simple === undefined ? {} : { simpleValue: new DataView(simple.buffer, simple.byteOffset, 4).getFloat32(0, true) }),
    ...(pluginName === undefined ? {} : { pluginName }),
    ...(t === undefined ? {} : {
      tensor: {
        dtype: int(last(t, 1)),
        rank: shape === undefined ? 0 : (fields(shape).get(2) ?? []).length,
        strings: (t.get(8) ?? []).map((s) => text(s)!)
      }
    })
  }
}

/** An `Event` message: wall_time (1, double), step (2, int64), file_version (3) or summary (5: repeated Value, 1). */
export const event = (bytes: Uint8Array): Event => {
  const f = fields(bytes)
  const wall = bytesOf(last(f, 1))
  const fileVersion = text(last(f, 3))
  const summary = bytesOf(last(f, 5))
  return {
    wallTime: wall === undefined ? 0 : new DataView(wall.buffer, wall.byteOffset, 8).getFloat64(0, true),
    step: int(last(f, 2)),
    ...(fileVersion === undefined ? {} : { fileVersion }),
    ...(summary === undefined ? {} : { values: (fields(summary).get(1) ?? []).map((v) => value(bytesOf(v)!)) })
  }
}

/** Every event of a file, and whether its last record was cut short. */
export const read = (file: Uint8Array): { readonly events: ReadonlyArray<Event>; readonly truncated: boolean } => {
  const r = records(file)
  return { events: r.data.map(event), truncated: r.truncated }
}
