import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { crc32c } from "@aws-crypto/crc32c"
import { Clock, Effect, FileSystem, Layer, Semaphore } from "effect"
import protobuf from "protobufjs"
import * as SystemMessage from "../fault/SystemMessage.ts"
import { Metrics, type MetricRecord, MetricsError } from "./Metrics.ts"

/**
 * TensorBoard event files (docs/run-directory.md, `tb/`): a run's metrics as scalar summaries and its config as a text
 * summary, in the format TensorFlow writes, so `tensorboard --logdir runs/` shows every run.
 *
 * A file is a sequence of TFRecords, each `uint64 length (LE) | uint32 masked CRC-32C of those 8 bytes | data |
 * uint32 masked CRC-32C of data` (tensorboard/summary/writer/record_writer.py), whose data is one serialized `Event`
 * (tensorboard/compat/proto/event.proto). The first event carries `file_version: "brain.Event:2"`; every later one a
 * `Summary`. The messages are encoded by protobufjs from the subset of TensorBoard's own .proto files below (same
 * field numbers, no code generation); CRC-32C (Castagnoli) comes from @aws-crypto/crc32c.
 *
 * Encoding is pure; `layerFile` writes through the `FileSystem` service, one append per logged record.
 */

/** The subset of event.proto, summary.proto, tensor.proto, tensor_shape.proto and types.proto this writer uses. */
const PROTO = `
syntax = "proto3";
package tensorboard;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}
message Summary {
  message Value {
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}
message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
}
message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  repeated bytes string_val = 8;
}
message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
}
enum DataType {
  DT_INVALID = 0;
  DT_FLOAT = 1;
  DT_STRING = 7;
}
`

const Event = protobuf.parse(PROTO, { keepCase: false }).root.lookupType("tensorboard.Event")

/** The file version TensorFlow's writers put in every file's first event. */
export const FILE_VERSION = "brain.Event:2"

/** TensorFlow's masked CRC-32C of a TFRecord's length and data: `((crc >>> 15) | (crc << 17)) + 0xa282ead8` mod 2^32. */
export const maskedCrc32c = (bytes: Uint8Array): number => {
  const crc = crc32c(bytes)
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0
}

/** One TFRecord: the length, its masked CRC, the data, the data's masked CRC. */
export const frame = (data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(12 + data.length + 4)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(data.length), true)
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true)
  out.set(data, 12)
  view.setUint32(12 + data.length, maskedCrc32c(data), true)
  return out
}

const event = (fields: Record<string, unknown>): Uint8Array => Event.encode(fields).finish()

/** The first event of a file: wall time (seconds) and the file version, as TensorFlow's writers write it. */
export const fileVersionEvent = (wallTime: number): Uint8Array => event({ wallTime, fileVersion: FILE_VERSION })

/** Scalars at one step: one `Summary.Value` with a `simple_value` (a float32: the value rounded) per `[tag, value]`. */
export const scalarsEvent = (wallTime: number, step: number, scalars: ReadonlyArray<readonly [tag: string, value: number]>): Uint8Array =>
  event({ wallTime, step: Math.trunc(step), summary: { value: scalars.map(([tag, simpleValue]) => ({ tag, simpleValue })) } })

/**
 * A text summary as TensorBoard's text plugin writes it: a rank-0 `DT_STRING` tensor holding the UTF-8 text, with
 * `metadata.plugin_data.plugin_name = "text"` (its content, an empty `TextPluginData`, is zero bytes). The text is
 * Markdown to TensorBoard.
 */
export const textEvent = (wallTime: number, step: number, tag: string, text: string): Uint8Array =>
  event({
    wallTime,
    step: Math.trunc(step),
    summary: {
      value: [{
        tag,
        metadata: { pluginData: { pluginName: "text", content: new Uint8Array(0) } },
        tensor: { dtype: 7, tensorShape: {}, stringVal: [new TextEncoder().encode(text)] }
      }]
    }
  })

/**
 * The tag of a metric of a record: `<stage>/<metric>` (`sft/loss/sft`, `ppo/policy/approxkl`, `evaluate/eval/success_rate`),
 * always, so that stages sharing a metric name (`grad/norm`, `lr`, `perf/tokens_per_s`, ... of sft, ppo and the reward
 * stages) never share a time series, and a tag means the same in every run. TensorBoard groups charts by the tag's part
 * before the first `/`: one section per stage.
 */
export const tag = (stage: string, metric: string): string => `${stage}/${metric}`

/** The event of a logged record: every metric value as a scalar at the record's step. */
export const recordEvent = (wallTime: number, r: MetricRecord): Uint8Array =>
  scalarsEvent(wallTime, r.step, Object.entries(r.values).map(([k, v]) => [tag(r.stage, k), v] as const))

/** A Markdown code block of `text` (its fence longer than any run of backticks inside), shown verbatim by TensorBoard. */
export const codeBlock = (text: string, language = ""): string => {
  const longest = Math.max(0, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length))
  const fence = "`".repeat(Math.max(3, longest + 1))
  return `${fence}${language}\n${text}${text.endsWith("\n") ? "" : "\n"}${fence}\n`
}

/** TensorFlow's event file name: `events.out.tfevents.<unix seconds, 10 digits>.<hostname>`. */
export const fileName = (seconds: number, hostname: string): string => `events.out.tfevents.${String(Math.floor(seconds)).padStart(10, "0")}.${hostname}`

/** Where a run's event files go, relative to the run directory. */
export const DIR = "tb"

export interface Options {
  /** The directory of the event files (a run's `tb/`); made when missing. */
  readonly dir: string
  /** The run's config.json text, written as the text summary `config` at step 0 (in a Markdown code block). */
  readonly config?: string
  /** The host name in the file name (default: this machine's). */
  readonly hostname?: string
}

/**
 * A Metrics sink writing a new event file in `dir`: made when the layer is built, named by the Clock's time and the
 * host (`.1`, `.2`, ... appended when that name is taken, as by a resume within the same second), opened with the
 * file-version event and the config text, then one event per logged record (none for a record without values), each appended whole and uninterrupted
 * when `log` returns (one at a time, in the order logged). A killed run may leave a last record cut short, which
 * TensorBoard's readers stop at. Wall times are the Clock's. A write the file system refuses fails with
 * `MetricsError` naming the file.
 */
export const layerFile = (options: Options): Layer.Layer<Metrics, MetricsError, FileSystem.FileSystem> =>
  Layer.effect(
    Metrics,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const fail = (path: string) => (e: unknown) =>
        new MetricsError({ path, message: `${path}: cannot write (${SystemMessage.of(e).split("\n")[0]})` })
      const seconds = () => Effect.map(Clock.currentTimeMillis, (ms) => ms / 1000)
      yield* fs.makeDirectory(options.dir, { recursive: true }).pipe(Effect.mapError(fail(options.dir)))
      const base = NodePath.join(options.dir, fileName(yield* seconds(), options.hostname ?? NodeOs.hostname()))
      let path = base
      for (let i = 1; yield* fs.exists(path).pipe(Effect.mapError(fail(path))); i++) path = `${base}.${i}`
      const now = yield* seconds()
      const head = [frame(fileVersionEvent(now))]
      if (options.config !== undefined) head.push(frame(textEvent(now, 0, "config", codeBlock(options.config, "json"))))
      // "wx": a new file, never one another writer holds
      yield* fs.writeFile(path, concat(head), { flag: "wx" }).pipe(Effect.mapError(fail(path)))
      const one = yield* Semaphore.make(1)
      return Metrics.of({
        log: (r) =>
          Object.keys(r.values).length === 0 ? Effect.void : seconds().pipe(
            Effect.flatMap((t) => fs.writeFile(path, frame(recordEvent(t, r)), { flag: "a" })),
            Effect.mapError(fail(path)),
            Effect.uninterruptible,
            one.withPermit
          )
      })
    })
  )

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
