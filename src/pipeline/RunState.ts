import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { Effect, Schema } from "effect"
import { PipelineError } from "./PipelineError.ts"

/**
 * `state.json`: how far a run got. Written atomically (temporary file, fsync, rename) after each unit of work
 * and its checkpoint are complete, so it always names a complete checkpoint and the metrics.jsonl length at
 * that point. Resume cuts metrics.jsonl back to that length, loads the checkpoint and runs the next unit.
 */
/** A point a resume can start from: units completed, the checkpoint holding the models then, the output lengths then. */
export const Point = Schema.Struct({
  completed: Schema.Int,
  checkpoint: Schema.NullOr(Schema.String),
  metricsBytes: Schema.Int,
  samplesBytes: Schema.Int
})
export type Point = typeof Point.Type

/** The start of a run: nothing completed, no checkpoint, empty outputs. */
export const origin: Point = { completed: 0, checkpoint: null, metricsBytes: 0, samplesBytes: 0 }

export const State = Schema.Struct({
  format: Schema.Literal("stepagent-run-state/1"),
  /** Units completed (units are numbered from 0 in pipeline order). */
  completed: Schema.Int,
  /** Total units of the pipeline. */
  units: Schema.Int,
  /** The checkpoint directory (relative to the run) holding the models after the last completed unit; null before any. */
  checkpoint: Schema.NullOr(Schema.String),
  /** Bytes of metrics.jsonl when the last completed unit finished. */
  metricsBytes: Schema.Int,
  /** Bytes of samples/step-rewards.jsonl at the same point. */
  samplesBytes: Schema.Int,
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

export const FILE = "state.json"

/**
 * Writes a file atomically: a reader sees the old contents or the new, never a part. A write the file system
 * refuses (a full disk) removes its temporary file and leaves the old contents.
 */
export const writeAtomic = (path: string, contents: string): Effect.Effect<void, PipelineError> =>
  Effect.try({
    try: () => {
      const tmp = `${path}.tmp-${process.pid}`
      try {
        const fd = NodeFs.openSync(tmp, "w")
        try {
          NodeFs.writeFileSync(fd, contents) // loops until every byte is written (writeSync may write a part)
          NodeFs.fsyncSync(fd)
        } finally {
          NodeFs.closeSync(fd)
        }
        NodeFs.renameSync(tmp, path)
      } catch (e) {
        NodeFs.rmSync(tmp, { force: true })
        throw e
      }
    },
    catch: (e) => new PipelineError({ reason: "RunDirectory", message: `${path}: cannot write (${e instanceof Error ? e.message.split("\n")[0] : String(e)})` })
  }).pipe(Effect.uninterruptible)

export const write = (runDir: string, state: State): Effect.Effect<void, PipelineError> =>
  writeAtomic(NodePath.join(runDir, FILE), JSON.stringify(state, null, 2) + "\n")

/** The run's state, or undefined when no unit has completed yet. */
export const read = (runDir: string): Effect.Effect<State | undefined, PipelineError> =>
  Effect.gen(function*() {
    const path = NodePath.join(runDir, FILE)
    if (!NodeFs.existsSync(path)) return undefined
    const text = yield* Effect.try({
      try: () => NodeFs.readFileSync(path, "utf8"),
      catch: () => new PipelineError({ reason: "RunDirectory", message: `${path}: cannot read` })
    })
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => new PipelineError({ reason: "RunDirectory", message: `${path}: not valid JSON` })
    })
    return yield* Schema.decodeUnknownEffect(State)(json).pipe(
      Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: `${path}: ${e.message.split("\n")[0]}` }))
    )
  })
