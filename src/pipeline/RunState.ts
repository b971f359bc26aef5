import * as NodePath from "node:path"
import { Effect, FileSystem, Schema } from "effect"
import * as RunDir from "../report/RunDir.ts"
import { PipelineError } from "./PipelineError.ts"
import * as RunFiles from "./RunFiles.ts"

/**
 * `state.json`: how far a run got. Written atomically (temporary file, fsync, rename) after each unit of work
 * and its checkpoint are complete, so it always names a complete checkpoint and the metrics.jsonl length at
 * that point. Resume cuts metrics.jsonl back to that length, loads the checkpoint and runs the next unit.
 * Its Schema, like every run file's, is in src/report/RunDir.ts: the files are written with the Schemas
 * they are read back with.
 */

/** The start of a run: nothing completed, no checkpoint, empty outputs. */
export const origin: RunDir.Point = { completed: 0, checkpoint: null, metricsBytes: 0, samplesBytes: 0 }

export const write = (runDir: string, state: RunDir.State): Effect.Effect<void, PipelineError, FileSystem.FileSystem> =>
  RunFiles.writeJson(NodePath.join(runDir, RunDir.STATE), RunDir.State, state)

/** The run's state, or undefined when no unit has completed yet. */
export const read = (runDir: string): Effect.Effect<RunDir.State | undefined, PipelineError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = NodePath.join(runDir, RunDir.STATE)
    const cannotRead = new PipelineError({ reason: "RunDirectory", message: `${path}: cannot read` })
    if (!(yield* fs.exists(path).pipe(Effect.mapError(() => cannotRead)))) return undefined
    const text = yield* fs.readFileString(path).pipe(Effect.mapError(() => cannotRead))
    const json = yield* RunFiles.parseJson(path, text, "not valid JSON")
    return yield* Schema.decodeUnknownEffect(RunDir.State)(json).pipe(
      Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: `${path}: ${e.message.split("\n")[0]}` }))
    )
  })
