import { Context, Effect, FileSystem, Layer, Schema, Semaphore } from "effect"
import * as Failpoint from "../fault/Failpoint.ts"
import * as SystemMessage from "../fault/SystemMessage.ts"

/**
 * One logged step: where it happened and the metric values, named as in the field
 * (`policy/approxkl`, `loss/value`, `reward/step_mean`, `dpo/accuracy`, `eval/success_rate`, `timing/<stage>_s`, ...).
 * Values that depend on wall time live under `perf/` and `timing/` only, so every other metric is reproducible.
 */
export interface MetricRecord {
  readonly stage: string
  readonly iteration: number
  readonly step: number
  readonly values: Readonly<Record<string, number>>
}

/** A record could not be written (a full disk, a file system gone read-only): `message` is one line naming the file. */
export class MetricsError extends Schema.TaggedError<MetricsError>()("MetricsError", {
  path: Schema.String,
  message: Schema.String
}) {}

/**
 * The metrics sink every stage logs to. Layers: `layerMemory` (tests), `layerFile` (a run's metrics.jsonl), `tee` of two
 * sinks; TensorBoard.ts has the event-file sink.
 */
export class Metrics extends Context.Service<Metrics, {
  readonly log: (record: MetricRecord) => Effect.Effect<void, MetricsError>
}>()("stepagent/Metrics") {}

/** The JSON line of a record: `{"stage","iteration","step", ...values}`. Non-finite values are written as null. */
export const line = (r: MetricRecord): string => {
  const o: Record<string, unknown> = { stage: r.stage, iteration: r.iteration, step: r.step }
  for (const [k, v] of Object.entries(r.values)) o[k] = Number.isFinite(v) ? v : null
  return JSON.stringify(o)
}

/** Keeps records in memory; `records` reads them (tests, and the in-process API). */
export const layerMemory = (records: Array<MetricRecord>): Layer.Layer<Metrics> =>
  Layer.succeed(Metrics, {
    log: (r) =>
      Effect.sync(() => {
        records.push(r)
      })
  })

/**
 * Appends records to a JSONL file through the `FileSystem` service, one append per record: a record is on disk
 * when `log` returns, so a crash loses nothing logged and resume can cut the file back to a known length. Appends
 * run one at a time, uninterrupted, in the order records are logged (as the synchronous append did before). A write
 * the file system refuses (ENOSPC) fails with `MetricsError`; a part of the line may be on disk, which resume cuts.
 */
export const layerFile = (path: string): Layer.Layer<Metrics, never, FileSystem.FileSystem> =>
  Layer.effect(
    Metrics,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const one = yield* Semaphore.make(1)
      return Metrics.of({
        log: (r) =>
          fs.writeFileString(path, line(r) + "\n", { flag: "a" }).pipe(
            Effect.mapError((e) => new MetricsError({ path, message: `${path}: cannot write (${SystemMessage.of(e).split("\n")[0]})` })),
            Effect.uninterruptible,
            one.withPermit,
            Effect.andThen(Failpoint.hit("metrics"))
          )
      })
    })
  )

/**
 * Logs every record to `first`, then to `second` (a run's metrics.jsonl, then its TensorBoard event file): `log`
 * returns when both hold it, and fails with the first sink's error before the second sees the record.
 */
export const tee = <E1, R1, E2, R2>(first: Layer.Layer<Metrics, E1, R1>, second: Layer.Layer<Metrics, E2, R2>): Layer.Layer<Metrics, E1 | E2, R1 | R2> =>
  Layer.effect(
    Metrics,
    Effect.gen(function*() {
      const a = Context.get(yield* Layer.build(first), Metrics)
      const b = Context.get(yield* Layer.build(second), Metrics)
      // uninterruptible: an interrupted run has each record in both sinks or in neither
      return Metrics.of({ log: (r) => Effect.uninterruptible(Effect.andThen(a.log(r), b.log(r))) })
    })
  )

/** Discards records. */
export const layerNone: Layer.Layer<Metrics> = Layer.succeed(Metrics, { log: () => Effect.void })
