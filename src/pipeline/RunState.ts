import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { Effect, Schema } from "effect"
import * as RunDir from "../report/RunDir.ts"
import { PipelineError, schemaIssueLine } from "./PipelineError.ts"

/**
 * `state.json`: how far a run got. Written atomically (temporary file, fsync, rename) after each unit of work
 * and its checkpoint are complete, so it always names a complete checkpoint and the metrics.jsonl length at
 * that point. Resume cuts metrics.jsonl back to that length, loads the checkpoint and runs the next unit.
 * Its Schema, like every run file's, is in src/report/RunDir.ts: the files are written with the Schemas
 * they are read back with.
 */

/** The start of a run: nothing completed, no checkpoint, empty outputs. */
export const origin: RunDir.Point = { completed: 0, checkpoint: null, metricsBytes: 0, samplesBytes: 0 }

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

/**
 * Writes a run file as JSON (two-space indent, a final newline), atomically, encoded with its Schema: the one
 * it is read back with. A value the Schema refuses (a non-finite number) fails without writing.
 */
export const writeJson = <S extends Schema.Top & { readonly EncodingServices: never }>(path: string, schema: S, value: S["Type"]): Effect.Effect<void, PipelineError> =>
  Schema.encodeEffect(schema)(value).pipe(
    Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: `${path}: cannot write (${schemaIssueLine(e.message)})` })),
    Effect.flatMap((json) => writeAtomic(path, JSON.stringify(json, null, 2) + "\n"))
  )

export const write = (runDir: string, state: RunDir.State): Effect.Effect<void, PipelineError> =>
  writeJson(NodePath.join(runDir, RunDir.STATE), RunDir.State, state)

/** The run's state, or undefined when no unit has completed yet. */
export const read = (runDir: string): Effect.Effect<RunDir.State | undefined, PipelineError> =>
  Effect.gen(function*() {
    const path = NodePath.join(runDir, RunDir.STATE)
    if (!NodeFs.existsSync(path)) return undefined
    const text = yield* Effect.try({
      try: () => NodeFs.readFileSync(path, "utf8"),
      catch: () => new PipelineError({ reason: "RunDirectory", message: `${path}: cannot read` })
    })
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => new PipelineError({ reason: "RunDirectory", message: `${path}: not valid JSON` })
    })
    return yield* Schema.decodeUnknownEffect(RunDir.State)(json).pipe(
      Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: `${path}: ${e.message.split("\n")[0]}` }))
    )
  })
