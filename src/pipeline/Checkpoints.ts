import * as NodePath from "node:path"
import { Effect, FileSystem } from "effect"
import * as Failpoint from "../fault/Failpoint.ts"
import * as Checkpoint from "../model/Checkpoint.ts"
import * as RunDir from "../report/RunDir.ts"
import * as Models from "../stages/Models.ts"
import { PipelineError } from "./PipelineError.ts"
import * as RunFiles from "./RunFiles.ts"
import * as RunState from "./RunState.ts"
import type * as Unit from "./Unit.ts"

/** A run's checkpoints/: one checkpoint after each unit, the last two kept, LATEST naming the newest. */

const checkpointName = (completed: number) => `unit-${String(completed).padStart(4, "0")}`

/**
 * Saves the models after unit `completed`, then state.json naming that checkpoint and `last` (the point before) as
 * its fallback, then removes every other checkpoint. Two are kept, not one: a checkpoint found damaged on resume
 * (a flipped bit, a truncated file) then has an intact predecessor to fall back to, at the cost of one rerun unit;
 * disk use stays bounded at two checkpoints (three while the next is being written). Returns the new point.
 */
export const save = (ctx: Unit.Context, completed: number, total: number, hash: string, backend: string, last: RunDir.Point) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const models = yield* Models.Models
    const entries = yield* models.entries
    const name = checkpointName(completed)
    const dir = NodePath.join(ctx.runDir, "checkpoints")
    yield* Checkpoint.save(NodePath.join(dir, name), {
      models: entries as Readonly<Record<string, Checkpoint.Entry>>,
      tokenizer: ctx.tokenizer,
      counters: { completed },
      // what `stepagent eval --checkpoint` needs to render states as in training
      meta: { pipeline: ctx.pipeline.name, env: ctx.pipeline.env, render: ctx.pipeline.render }
    }).pipe(Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: e.message })))
    yield* Failpoint.hit("state.write")
    const samplesPath = NodePath.join(ctx.runDir, RunDir.SAMPLES)
    const size = (path: string) => Effect.map(fs.stat(path), (s) => Number(s.size))
    const point: RunDir.Point = {
      completed,
      checkpoint: `checkpoints/${name}`,
      metricsBytes: yield* size(NodePath.join(ctx.runDir, RunDir.METRICS)).pipe(Effect.mapError(RunFiles.ioError(ctx.runDir))),
      samplesBytes: yield* Effect.flatMap(fs.exists(samplesPath), (exists) => exists ? size(samplesPath) : Effect.succeed(0)).pipe(
        Effect.mapError(RunFiles.ioError(samplesPath))
      )
    }
    yield* RunState.write(ctx.runDir, { format: "stepagent-run-state/1", ...point, units: total, hash, backend, previous: last })
    yield* Failpoint.hit("state.prune")
    yield* settle(ctx.runDir, point, last)
    return point
  }).pipe(Effect.uninterruptible)

/**
 * Brings checkpoints/ in line with state.json: LATEST names its checkpoint, and checkpoints other than the two it
 * names (and leftovers of failed or killed writes) are removed. After each save, and by a resume that finds every
 * unit done (a kill between state.json and this leaves them behind).
 */
export const settle = (runDir: string, current: RunDir.Point, previous: RunDir.Point | undefined) =>
  Effect.gen(function*() {
    if (current.checkpoint === null) return
    const fs = yield* FileSystem.FileSystem
    const dir = NodePath.join(runDir, "checkpoints")
    const name = NodePath.basename(current.checkpoint)
    const keep = new Set([name, ...(previous?.checkpoint == null ? [] : [NodePath.basename(previous.checkpoint)])])
    yield* RunFiles.writeAtomic(NodePath.join(dir, "LATEST"), name + "\n")
    const old = (yield* fs.readDirectory(dir).pipe(Effect.mapError(RunFiles.ioError(dir)))).filter((f) => !keep.has(f) && f.startsWith("unit-"))
    yield* Effect.forEach(old, (f) => fs.remove(NodePath.join(dir, f), { recursive: true, force: true }), { discard: true }).pipe(
      Effect.mapError(RunFiles.ioError(dir))
    )
  })
