import * as NodePath from "node:path"
import { Console, Duration, Effect, FileSystem, Layer, Option } from "effect"
import type { Tokenizer } from "../data/Tokenizer.ts"
import { Backend, describe } from "../model/backend/Backend.ts"
import * as Preset from "../model/Preset.ts"
import * as Transformer from "../model/Transformer.ts"
import * as Metrics from "../metrics/Metrics.ts"
import * as TensorBoard from "../metrics/TensorBoard.ts"
import * as Report from "../report/Report.ts"
import * as RunDir from "../report/RunDir.ts"
import * as Models from "../stages/Models.ts"
import * as Checkpoints from "./Checkpoints.ts"
import * as Dataset from "./Dataset.ts"
import * as Environment from "./Environment.ts"
import * as Evaluation from "./Evaluation.ts"
import type * as Pipeline from "./Pipeline.ts"
import { PipelineError } from "./PipelineError.ts"
import * as Progress from "./Progress.ts"
import * as RunFiles from "./RunFiles.ts"
import * as StageEntry from "./StageEntry.ts"
import * as Training from "./Training.ts"
import * as Unit from "./Unit.ts"

/**
 * Runs a pipeline in a run directory (docs/run-directory.md), one unit of work at a time (an SFT epoch,
 * a StepAgent iteration, an evaluation): after each unit the models are checkpointed atomically and
 * state.json records the unit and the length of metrics.jsonl. Every random stream of a unit derives from
 * (pipeline seed, stage index, iteration), never from carried-over state, so `resume` reruns the first
 * unfinished unit from the last checkpoint and reproduces the uninterrupted run bit for bit on the same backend.
 * `stepagent run` starts a run (Start.ts), `stepagent resume` continues one (Resume.ts).
 */

/** The unit of each stage kind. */
const runUnit = (ctx: Unit.Context, u: Unit.Unit) => {
  const e = u.entry
  switch (e.stage) {
    case "sft":
      return Training.sft(ctx, u, e)
    case "stepagent":
      return Training.stepagent(ctx, u, e)
    case "stepDpo":
      return Training.stepDpo(ctx, u, e)
    case "outcomePpo":
      return Training.outcomePpo(ctx, u, e)
    case "dagger":
      return Training.dagger(ctx, u, e)
    case "evaluate":
      return Evaluation.unit(ctx, u, e)
  }
}

/**
 * Runs the units after `start` (a fresh run's origin, or a resumed point) with the models `initial` (undefined: a
 * fresh policy), each followed by its checkpoint and state.json; then the report. Returns the report's path.
 */
export const execute = (
  runDir: string,
  p: Pipeline.Pipeline,
  hash: string,
  start: RunDir.Point,
  initial: Readonly<Partial<Record<Models.Role, Models.Entry>>> | undefined,
  tokenizer: Tokenizer
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const backend = describe(yield* Backend)
    const total = yield* Dataset.count(p)
    const all = Unit.units(p, total)
    const from = start.completed
    const progress = yield* Progress.Progress
    const bar = yield* progress.start(`${p.name}`, all.length)
    const simulator = Environment.simulator(p)
    const ctx: Unit.Context = { runDir, pipeline: p, tokenizer, total, simulator, note: bar.note }
    const metricsPath = NodePath.join(runDir, RunDir.METRICS)
    if (!(yield* fs.exists(metricsPath).pipe(Effect.mapError(RunFiles.ioError(metricsPath))))) {
      yield* fs.writeFileString(metricsPath, "").pipe(Effect.mapError(RunFiles.ioError(metricsPath)))
    }
    // every execution (a run, each resume) writes a new TensorBoard event file beside the old ones
    const configPath = NodePath.join(runDir, RunDir.CONFIG)
    const config = yield* fs.readFileString(configPath).pipe(Effect.mapError(RunFiles.ioError(configPath)))
    const sink = Metrics.tee(Metrics.layerFile(metricsPath), TensorBoard.layerFile({ dir: NodePath.join(runDir, TensorBoard.DIR), config }))
    const models = initial ?? {
      policy: { model: Transformer.init(Preset.config(p.model.preset, { ...p.model.overrides, vocabSize: tokenizer.vocabSize }), Unit.stageSeed(p, -1)) }
    }
    yield* bar.advance(from)
    let last = start
    yield* Effect.gen(function*() {
      for (const unit of all.slice(from)) {
        const [elapsed] = yield* Effect.timed(
          Effect.andThen(
            runUnit(ctx, unit),
            // the point noted in the save's uninterruptible step: an interruption as it ends still reports it as saved
            Checkpoints.save(ctx, unit.index + 1, all.length, hash, backend, last).pipe(
              Effect.tap((saved) => Effect.sync(() => { last = saved })),
              Effect.uninterruptible
            )
          )
        )
        yield* bar.advance(1, `${unit.entry.stage} ${unit.iteration + 1}/${StageEntry.repetitions(unit.entry)}${unit.parts > 1 ? ` part ${unit.part + 1}/${unit.parts}` : ""} (${Duration.toSeconds(elapsed).toFixed(1)} s)`)
      }
    }).pipe(
      Effect.provide(Layer.mergeAll(Models.layer({ tokenizer, models }), withProgress(sink, bar), Environment.envLayer(p, simulator))),
      // A file system that refuses a write (a full disk) stops the run with one line; what state.json names is intact.
      Effect.catchTag("MetricsError", (e) => Effect.fail(new PipelineError({ reason: "RunDirectory", message: e.message }))),
      Effect.mapError((e) => e._tag === "PipelineError" && e.reason === "RunDirectory" ? resumable(runDir, last, all.length, e) : e),
      // Ctrl-C or SIGTERM: the unit under way is cut (its work is lost); say what is kept and how to go on
      Effect.onInterrupt(() => Console.error(interrupted(runDir, last, all.length)))
    )
    yield* bar.done
    // every unit is saved: a report the disk refuses is written by `resume`
    return yield* finish(runDir).pipe(Effect.mapError((e) => resumable(runDir, last, all.length, e)))
  })

/** A run-directory failure inside the unit loop, with where a resume would start. */
const resumable = (runDir: string, last: RunDir.Point, units: number, e: PipelineError): PipelineError =>
  new PipelineError({
    reason: "RunDirectory",
    message: `${e.message}; ${last.completed}/${units} units are saved${last.checkpoint === null ? "" : ` (${last.checkpoint} intact)`}: ${/ENOSPC|EDQUOT/.test(e.message) ? "free space" : "fix the cause"}, then \`stepagent resume ${runDir}\``
  })

/** The line printed when a run is interrupted: what is saved, and the command that continues it. */
export const interrupted = (runDir: string, last: RunDir.Point, units: number): string =>
  `stepagent: interrupted; ${last.completed}/${units} units are saved${last.checkpoint === null ? "" : ` (${last.checkpoint})`}, the unit under way is lost: continue with \`stepagent resume ${runDir}\``

/** After the last unit: the evaluation's one line, then the report (its path is returned). */
export const finish = (runDir: string) =>
  Effect.gen(function*() {
    // the result in one line, before the report's path (the last line)
    const summary = yield* RunDir.summary(runDir).pipe(Effect.option)
    if (Option.isSome(summary)) yield* Console.log(Evaluation.line(summary.value))
    const written = yield* Report.write([runDir], {}).pipe(Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: e.message })))
    return written.out
  })

/** The metrics sink (metrics.jsonl and the TensorBoard event file), with every logged step also noted in the progress (a plain line every ~15 s inside long units). */
const withProgress = <E, R>(sink: Layer.Layer<Metrics.Metrics, E, R>, bar: Progress.Task): Layer.Layer<Metrics.Metrics, E, R> =>
  Layer.effect(Metrics.Metrics, Effect.gen(function*() {
    const m = yield* Metrics.Metrics
    return Metrics.Metrics.of({ log: (r) => Effect.andThen(m.log(r), bar.note(`${r.stage} step ${r.step}`)) })
  })).pipe(Layer.provide(sink))
