import * as NodePath from "node:path"
import { Console, Effect, FileSystem, Schema } from "effect"
import * as Bpe from "../data/Bpe.ts"
import { Backend, describe, numerics } from "../model/backend/Backend.ts"
import * as Checkpoint from "../model/Checkpoint.ts"
import type { CheckpointError } from "../model/CheckpointError.ts"
import * as RunDir from "../report/RunDir.ts"
import type * as Models from "../stages/Models.ts"
import * as Checkpoints from "./Checkpoints.ts"
import * as Dataset from "./Dataset.ts"
import * as InitialState from "./InitialState.ts"
import * as Pipeline from "./Pipeline.ts"
import { PipelineError } from "./PipelineError.ts"
import * as RunFiles from "./RunFiles.ts"
import * as Runner from "./Runner.ts"
import * as RunState from "./RunState.ts"
import * as Unit from "./Unit.ts"

/** Why a checkpoint cannot be resumed from but an older one can: it is damaged or gone (not a mismatch of config). */
const damaged = (e: CheckpointError) => e.reason === "Corrupt" || e.reason === "NotFound"

/**
 * The models to resume from: the checkpoint state.json names, or, when that one is damaged (a checksum mismatch,
 * a truncated or missing file), the one before it, which is kept for this (`Checkpoints.save`). The damaged one is
 * moved aside as `<name>.corrupt` (removed with the next checkpoint) and the unit after the fallback point reruns.
 * A warning names the damage in one line.
 */
const loadPoint = (runDir: string, p: Pipeline.Pipeline, state: RunDir.State) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const tokenizer = yield* Bpe.loadFile(NodePath.join(runDir, "tokenizer.json")).pipe(Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: e.message })))
    const load = (point: RunDir.Point) =>
      point.checkpoint === null
        ? Effect.succeed(undefined)
        : Checkpoint.load(NodePath.join(runDir, point.checkpoint), { tokenizerHash: tokenizer.hash }).pipe(
          Effect.map((loaded) => Object.fromEntries(Object.entries(loaded.models).map(([role, e]) => [role, { model: e.model, optimizer: e.optimizer }])) as Partial<Record<Models.Role, Models.Entry>>)
        )
    const incompatible = (e: CheckpointError) => new PipelineError({ reason: "IncompatibleCheckpoint", message: e.message })
    const latest = yield* Effect.result(load(state))
    if (latest._tag === "Success") return { point: state as RunDir.Point, initial: latest.success, tokenizer }
    const previous = state.previous
    if (!damaged(latest.failure) || previous === undefined) return yield* incompatible(latest.failure)
    const fallback = yield* Effect.result(load(previous))
    if (fallback._tag === "Failure") {
      return yield* new PipelineError({
        reason: "IncompatibleCheckpoint",
        message: `${latest.failure.message}; the one before is unusable too (${fallback.failure.message}): start the run again`
      })
    }
    const bad = NodePath.join(runDir, state.checkpoint!)
    if (yield* fs.exists(bad).pipe(Effect.mapError(RunFiles.ioError(bad)))) {
      yield* fs.rename(bad, `${bad}.corrupt`).pipe(Effect.mapError(RunFiles.ioError(bad)))
    }
    yield* Effect.logWarning(`${latest.failure.message}: resuming from ${previous.checkpoint ?? "the start"} (unit ${previous.completed}/${state.units}) instead`)
    if (previous.checkpoint !== null) return { point: previous, initial: fallback.success, tokenizer }
    // The first checkpoint was the damaged one: start over exactly as `run` did.
    const s = yield* InitialState.initialState(p)
    return { point: previous, initial: s.initial, tokenizer: s.tokenizer }
  })

/**
 * `stepagent resume <run-dir>`: continues from the last checkpoint (or the one before it, when the last is damaged);
 * a run whose units are all done but whose report was cut short gets its report. Refuses what would do nothing or
 * could not be exact.
 */
export const resume = (runDir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const exists = (path: string) => fs.exists(path).pipe(Effect.mapError(RunFiles.ioError(path)))
    const configPath = NodePath.join(runDir, RunDir.CONFIG)
    if (!(yield* exists(configPath))) return yield* new PipelineError({ reason: "NotFound", message: `${runDir}: not a run directory (no config.json)` })
    const file = yield* RunFiles.parseJson(configPath, yield* fs.readFileString(configPath).pipe(Effect.mapError(RunFiles.ioError(configPath))))
    const notRunConfig = new PipelineError({ reason: "RunDirectory", message: `${configPath}: not a stepagent run config` })
    const cfg = yield* Schema.decodeUnknownEffect(RunDir.RunConfig)(file).pipe(Effect.mapError(() => notRunConfig))
    const hash = cfg.hash
    if (hash === undefined) return yield* notRunConfig
    // The hash is checked on the config as config.json holds it: that is what an edit changes. A run started by older
    // code lacks the fields added since; they decode with their defaults, which keep the older behaviour (every field
    // it has is written out, defaults included, so a default changed since cannot reach it)
    if (Pipeline.hash(cfg.config) !== hash) {
      return yield* new PipelineError({ reason: "NotExact", message: `${configPath}: the config no longer matches its hash (edited?): a resume could not reproduce the run` })
    }
    const p = yield* Pipeline.decode(configPath, cfg.config)
    yield* Pipeline.checkDatasets(configPath, p)
    const state = yield* RunState.read(runDir)
    const all = Unit.units(p, yield* Dataset.count(p))
    const backend = describe(yield* Backend)
    if (state !== undefined) {
      if (state.completed >= all.length) {
        // The report is written last (report.html after its figures, each by rename): a run killed while writing it has none.
        if (yield* exists(NodePath.join(runDir, "report.html"))) {
          return yield* new PipelineError({ reason: "NothingToResume", message: `${runDir}: the run is complete (${state.completed}/${all.length} units): nothing to resume` })
        }
        yield* Checkpoints.settle(runDir, state, state.previous)
        yield* Console.log(runDir)
        yield* Console.log(`report: ${yield* Runner.finish(runDir)}`)
        return runDir
      }
      // on wasm with XNNPACK another thread count gives the same numbers (numerics): a run started on one thread may go on with more
      if (numerics(state.backend) !== numerics(backend)) {
        return yield* new PipelineError({ reason: "NotExact", message: `${runDir}: computed on "${state.backend}", now "${backend}": the resumed run could not be exact (use the same --backend/--matmul, and with OpenBLAS or on tensorflow the same --threads, with --train-threads 1 when it was more than 1)` })
      }
    }
    const start = state === undefined || state.checkpoint === null
      ? { point: RunState.origin, ...(yield* InitialState.initialState(p)) } // killed before the first unit completed: start over exactly as `run` did
      : yield* loadPoint(runDir, p, state)
    // Metrics and samples written after the resumed point belong to the units that rerun: cut them.
    for (const [file, keep] of [[RunDir.METRICS, start.point.metricsBytes], [RunDir.SAMPLES, start.point.samplesBytes]] as const) {
      const path = NodePath.join(runDir, file)
      if (yield* exists(path)) yield* fs.truncate(path, keep).pipe(Effect.mapError(RunFiles.ioError(path)))
    }
    yield* Console.log(runDir)
    const report = yield* Runner.execute(runDir, p, hash, start.point, start.initial, start.tokenizer)
    yield* Console.log(`report: ${report}`)
    return runDir
  })
