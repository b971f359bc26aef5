/**
 * The run directory (docs/run-directory.md): the Schemas of its files, which the runner encodes them with
 * and the report, the table and resume decode them with, and reading it for the report and the comparison
 * table: the resolved `config.json`, `metrics.jsonl` streamed record by record, `samples/step-rewards.jsonl`
 * and `eval/summary.json`. Nothing is loaded whole except the small JSON files.
 *
 * The small files are read through the `FileSystem` service; the JSONL files stream through JsonRecords.
 *
 * Every failure is a `RunDirError` whose one-line message names the file (and the record) at fault.
 * A last line of `metrics.jsonl` or `samples/step-rewards.jsonl` without its newline is a write cut by
 * a killed run, not corruption: it comes out as a `Truncated` item so that the caller can say so.
 */
import * as NodePath from "node:path"
import { Effect, FileSystem, Schema, Stream } from "effect"
import * as JsonRecords from "../data/JsonRecords.ts"
import * as SystemMessage from "../fault/SystemMessage.ts"

/** Why a run directory could not be read. */
export const RunDirErrorReason = Schema.Literals(["NotFound", "NotRunDir", "MissingFile", "BadJson", "BadRecord", "Io"])
export type RunDirErrorReason = typeof RunDirErrorReason.Type

/** A run directory could not be used: `message` is one line naming the file and the problem. */
export class RunDirError extends Schema.TaggedError<RunDirError>()("RunDirError", {
  reason: RunDirErrorReason,
  path: Schema.String,
  message: Schema.String
}) {}

export const CONFIG = "config.json"
export const METRICS = "metrics.jsonl"
export const SAMPLES = "samples/step-rewards.jsonl"
export const SUMMARY = "eval/summary.json"
export const STATE = "state.json"

/**
 * `config.json`: only `pipeline` and `config` are required to read one; the rest is shown when present.
 * Fields in the order the file lists them (encoding writes them in this order).
 */
export const RunConfig = Schema.Struct({
  pipeline: Schema.String,
  method: Schema.optionalKey(Schema.String),
  seed: Schema.optionalKey(Schema.Finite),
  script: Schema.optionalKey(Schema.String),
  config: Schema.Unknown,
  hash: Schema.optionalKey(Schema.String),
  backend: Schema.optionalKey(Schema.Unknown),
  versions: Schema.optionalKey(Schema.Unknown),
  createdAt: Schema.optionalKey(Schema.String)
})
export type RunConfig = typeof RunConfig.Type

/** Episodes per termination (`done`, `max_steps`, `error:<reason>`): they add up to the episodes. */
const Terminations = Schema.Record(Schema.String, Schema.Int)

/** Action accuracy per kind of expert action: `{ "go": { "states": 271, "accuracy": 0.22 }, ... }`. */
const AccuracyByKind = Schema.Record(Schema.String, Schema.Struct({ states: Schema.Finite, accuracy: Schema.Finite }))

/** One split's episodes as eval/summary.json gives them (the train-split check's, a validation world's). */
const splitFields = { avgReward: Schema.Finite, successRate: Schema.Finite, episodes: Schema.Finite, terminations: Schema.optionalKey(Terminations) }

/** `eval/summary.json`. `split` and `policy` are shown as "-" when absent. */
export const EvalSummary = Schema.Struct({
  avgReward: Schema.Finite,
  successRate: Schema.Finite,
  episodes: Schema.Finite,
  env: Schema.String,
  split: Schema.optionalKey(Schema.String),
  policy: Schema.optionalKey(Schema.String),
  // per episode in task order (runs since the statistics table): what bootstrap intervals and paired differences resample
  outcomes: Schema.optionalKey(Schema.Array(Schema.Struct({ task: Schema.String, reward: Schema.Finite, success: Schema.Boolean }))),
  terminations: Schema.optionalKey(Terminations),
  train: Schema.optionalKey(Schema.Struct(splitFields)), // the train-split check
  validation: Schema.optionalKey(Schema.Struct({ world: Schema.Finite, ...splitFields })), // train tasks of an unseen world
  actionAccuracy: Schema.optionalKey(Schema.Finite), // greedy exact match at held-out expert states
  actionAccuracyStates: Schema.optionalKey(Schema.Finite),
  trainActionAccuracy: Schema.optionalKey(Schema.Finite), // the same at the expert states of trajectories the run trained on
  trainActionAccuracyStates: Schema.optionalKey(Schema.Finite),
  // both split by the kind of the expert's action (its first word: `go`, `take`; `search`, `click`), most states first
  actionAccuracyByKind: Schema.optionalKey(AccuracyByKind),
  trainActionAccuracyByKind: Schema.optionalKey(AccuracyByKind)
})
export type EvalSummary = typeof EvalSummary.Type

/** One step of a sampled trajectory: the expert's and the agent's action at the expert's state. */
export const StepReward = Schema.Struct({
  step: Schema.Finite,
  expert: Schema.String,
  agent: Schema.String,
  agentReward: Schema.Finite,
  expertReward: Schema.optionalKey(Schema.Finite),
  match: Schema.Boolean
})
export type StepReward = typeof StepReward.Type

/** One record of `samples/step-rewards.jsonl`. */
export const SampledTrajectory = Schema.Struct({
  stage: Schema.String,
  iteration: Schema.Finite,
  trajectoryId: Schema.String,
  taskId: Schema.String,
  env: Schema.String,
  steps: Schema.Array(StepReward)
})
export type SampledTrajectory = typeof SampledTrajectory.Type

/** A point a resume can start from: units completed, the checkpoint holding the models then, the output lengths then. */
export const Point = Schema.Struct({
  completed: Schema.Int,
  checkpoint: Schema.NullOr(Schema.String),
  metricsBytes: Schema.Int,
  samplesBytes: Schema.Int
})
export type Point = typeof Point.Type

/**
 * `state.json`: how far a run got (src/pipeline/RunState.ts writes and reads it). Fields in the order the
 * file lists them.
 */
export const State = Schema.Struct({
  format: Schema.Literal("stepagent-run-state/1"),
  /** Units completed (units are numbered from 0 in pipeline order). */
  completed: Schema.Int,
  /** The checkpoint directory (relative to the run) holding the models after the last completed unit; null before any. */
  checkpoint: Schema.NullOr(Schema.String),
  /** Bytes of metrics.jsonl when the last completed unit finished. */
  metricsBytes: Schema.Int,
  /** Bytes of samples/step-rewards.jsonl at the same point. */
  samplesBytes: Schema.Int,
  /** Total units of the pipeline. */
  units: Schema.Int,
  /** The config hash of the run: a resume with another config is refused. */
  hash: Schema.String,
  /** The backend the run computed on: a resume on another cannot be exact and is refused. */
  backend: Schema.String,
  /**
   * The point before the last completed unit, whose checkpoint is kept too: a resume that finds the last
   * checkpoint corrupt falls back to it and reruns one unit. Absent in runs written before it existed.
   */
  previous: Schema.optionalKey(Point)
})
export type State = typeof State.Type

/** One record of `metrics.jsonl`: its position and its numeric metrics (every other numeric key). */
export interface MetricRow {
  readonly stage: string
  readonly iteration: number
  readonly step: number
  readonly metrics: ReadonlyArray<readonly [name: string, value: number]>
}

/** An item of a JSONL stream: a record, or the note that the file ends inside a line (a cut write). */
export type Item<A> =
  | { readonly _tag: "Record"; readonly value: A }
  | { readonly _tag: "Truncated"; readonly path: string; readonly reason: string }

/** An opened run directory: its path and its decoded `config.json` (`raw` is the file's JSON, for display). */
export interface Run {
  readonly dir: string
  readonly config: RunConfig
  readonly raw: unknown
}

const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max)}...` : flat
}

const ioError = (path: string, e: unknown): RunDirError => {
  const code = SystemMessage.code(e)
  if (code === "ENOENT") return new RunDirError({ reason: "MissingFile", path, message: `${path}: no such file` })
  if (code === "EACCES") return new RunDirError({ reason: "Io", path, message: `${path}: permission denied` })
  if (code === "EISDIR") return new RunDirError({ reason: "Io", path, message: `${path}: is a directory, not a file` })
  return new RunDirError({ reason: "Io", path, message: `${path}: ${oneLine(SystemMessage.of(e), 200)}` })
}

/** True when `dir/file` exists as a regular file. */
export const has = (dir: string, file: string): Effect.Effect<boolean, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    return yield* fs.stat(NodePath.join(dir, file)).pipe(Effect.match({ onFailure: () => false, onSuccess: (info) => info.type === "File" }))
  })

// UTF-8 that keeps a leading BOM (as node:fs did): a file starting with one is not JSON
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true })

const readJson = (path: string): Effect.Effect<unknown, RunDirError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = utf8.decode(yield* fs.readFile(path).pipe(Effect.mapError((e) => ioError(path, e))))
    return yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new RunDirError({ reason: "BadJson", path, message: `${path}: not valid JSON (${oneLine(e instanceof Error ? e.message : String(e), 120)})` })
    })
  })

const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, path: string, what: string) => (json: unknown) =>
  Schema.decodeUnknownEffect(schema)(json).pipe(
    Effect.mapError((e) => new RunDirError({ reason: "BadRecord", path, message: `${path}: ${what}: ${oneLine(e.message, 200)}` }))
  )

/** Opens a run directory: it must exist, be a directory and hold a readable `config.json`. */
export const open = Effect.fn("RunDir.open")(function*(dir: string) {
  const fs = yield* FileSystem.FileSystem
  const stat = yield* fs.stat(dir).pipe(
    Effect.mapError((e) => ioError(dir, e)),
    Effect.mapError((e) => e.reason === "MissingFile" ? new RunDirError({ reason: "NotFound", path: dir, message: `${dir}: no such run directory` }) : e)
  )
  if (stat.type !== "Directory") return yield* new RunDirError({ reason: "NotRunDir", path: dir, message: `${dir}: not a directory (expected a run directory)` })
  const path = NodePath.join(dir, CONFIG)
  const raw = yield* readJson(path).pipe(
    Effect.mapError((e) =>
      e.reason === "MissingFile"
        ? new RunDirError({ reason: "NotRunDir", path, message: `${path}: no such file (is ${dir} a run directory?)` })
        : e
    )
  )
  const config = yield* decode(RunConfig, path, "not a run config")(raw)
  return { dir, config, raw } satisfies Run
})

/** `eval/summary.json` of a run; fails with `MissingFile` when the run has not been evaluated. */
export const summary = Effect.fn("RunDir.summary")(function*(dir: string) {
  const path = NodePath.join(dir, SUMMARY)
  const json = yield* readJson(path).pipe(
    Effect.mapError((e) =>
      e.reason === "MissingFile"
        ? new RunDirError({ reason: "MissingFile", path, message: `${path}: no such file (the run has no evaluation yet)` })
        : e
    )
  )
  return yield* decode(EvalSummary, path, "not an evaluation summary")(json)
})

const isTruncation = (reason: string): boolean => reason.startsWith("truncated")

/** Streams a JSONL file of a run, decoding each record with `f`; a bad record fails naming the file and record. */
const jsonl = <A>(path: string, f: (json: unknown, where: string) => Effect.Effect<A, RunDirError>): Stream.Stream<Item<A>, RunDirError> =>
  JsonRecords.read(path, { layout: "jsonl" }).pipe(
    Stream.mapError((e) => e.reason === "NotFound" ? new RunDirError({ reason: "MissingFile", path, message: `${path}: no such file` }) : new RunDirError({ reason: "Io", path, message: e.message })),
    Stream.mapEffect((item): Effect.Effect<Item<A>, RunDirError> => {
      // Records are counted from 1 like lines (the runner writes no blank lines, so they coincide).
      const where = `${path}: record ${item.index + 1}`
      if (item._tag === "Record") return Effect.map(f(item.value, where), (value) => ({ _tag: "Record", value }))
      if (isTruncation(item.reason)) return Effect.succeed({ _tag: "Truncated", path, reason: item.reason })
      return Effect.fail(new RunDirError({ reason: "BadRecord", path, message: `${where}: ${item.reason}` }))
    })
  )

const badRow = (where: string, why: string) => Effect.fail(new RunDirError({ reason: "BadRecord", path: where.split(": record ")[0]!, message: `${where}: ${why}` }))

/**
 * Decodes one metrics record by hand (this is the hot path of a large file): `stage` a string,
 * `step` a number, `iteration` a number (0 when absent: a stage run once); every other numeric key is a metric.
 */
export const metricRow = (json: unknown, where: string): Effect.Effect<MetricRow, RunDirError> => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return badRow(where, "not a JSON object")
  const o = json as Record<string, unknown>
  const stage = o["stage"]
  const step = o["step"]
  const iteration = o["iteration"] ?? 0
  if (typeof stage !== "string") return badRow(where, "`stage` is missing or not a string")
  if (typeof step !== "number") return badRow(where, "`step` is missing or not a number")
  if (typeof iteration !== "number") return badRow(where, "`iteration` is not a number")
  const metrics: Array<readonly [string, number]> = []
  for (const key in o) {
    if (key === "stage" || key === "step" || key === "iteration") continue
    const v = o[key]
    if (typeof v === "number" && Number.isFinite(v)) metrics.push([key, v])
  }
  return Effect.succeed({ stage, iteration, step, metrics })
}

/** Streams `metrics.jsonl` record by record (bounded memory); fails with `MissingFile` when absent. */
export const metrics = (dir: string): Stream.Stream<Item<MetricRow>, RunDirError> => jsonl(NodePath.join(dir, METRICS), metricRow)

/** Streams `samples/step-rewards.jsonl`; fails with `MissingFile` when absent. */
export const samples = (dir: string): Stream.Stream<Item<SampledTrajectory>, RunDirError> => {
  const path = NodePath.join(dir, SAMPLES)
  const decodeOne = Schema.decodeUnknownEffect(SampledTrajectory)
  return jsonl(path, (json, where) =>
    decodeOne(json).pipe(
      Effect.mapError((e) => new RunDirError({ reason: "BadRecord", path, message: `${where}: not a sampled trajectory: ${oneLine(e.message, 200)}` }))
    ))
}
