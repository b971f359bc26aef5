import type { NonEmptyReadonlyArray } from "effect/Array"
import { Effect, Stream } from "effect"
import type { Tokenizer } from "../data/Tokenizer.ts"
import * as Guard from "../model/Guard.ts"
import type * as Optimizer from "../model/Optimizer.ts"
import type * as Rng from "../model/Rng.ts"
import type * as Transformer from "../model/Transformer.ts"
import { Metrics, type MetricRecord, type MetricsError } from "../metrics/Metrics.ts"
import { Models, type OptimizerSettings, type Role } from "./Models.ts"
import * as Run from "./Run.ts"
import { nonFinite, type StageError } from "./StageError.ts"
import * as Timed from "./Timed.ts"

/**
 * The skeleton of a batched stage. `each`: the stream cut into batches of `size`, every batch handled by one
 * call traced as `span` (`Effect.fn`) with its 0-based index, the outputs flattened back in order. `train`: a
 * training stage on top of it, which a stage describes instead of writing the loop:
 *   1. models: the roles it reads, and the optimizer of the role it trains (`Models.optimizer`);
 *   2. step: its synchronous compute block (tensor work, guarded updates), timed; a non-finite metric stops
 *      the stage with a StageError at the optimizer step that failed, its update not applied. A step that scores
 *      with frozen models around its update (the step rewards: `Scoring.scores`, which may run on cluster workers)
 *      returns an Effect instead, whose synchronous blocks hold the tensor work;
 *   3. emit: the metrics records of the batch (values named in `finite` must be finite) and its outputs;
 *      the records are logged in order before the outputs go on.
 */
export const each = <A, B, E2, R2>(
  span: string,
  size: number,
  f: (batch: NonEmptyReadonlyArray<A>, index: number) => Effect.Effect<Iterable<B>, E2, R2>,
  concurrency = 1 // batches in flight at once (units handed to cluster workers); outputs stay in order
) =>
<E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<B, E | E2, R | R2> => {
  const traced = Effect.fn(span)(function*(batch: NonEmptyReadonlyArray<A>, index: number) {
    return yield* f(batch, index)
  })
  return self.pipe(Stream.grouped(size), Stream.mapEffect(traced, { concurrency }), Stream.flattenIterable)
}

/** A training batch as the stage's step and emit see it. */
export interface Batch<A, K extends Role> {
  readonly items: NonEmptyReadonlyArray<A>
  readonly index: number // 0-based, within this run of the stage
  readonly models: { readonly [k in K]: Transformer.Model }
  readonly opt: Optimizer.Optimizer // the trained role's
  readonly rng: Rng.Rng // the batch's own random stream: `Run.rng(run, stage, index)`
  readonly tokenizer: Tokenizer // the models' (a scoring unit sent to a worker carries it with the weights)
  readonly record: (step: number, values: Readonly<Record<string, number>>) => MetricRecord // the stage's and run's record at `step`
}

export interface Emitted<B> {
  readonly records: ReadonlyArray<MetricRecord>
  readonly out: ReadonlyArray<B>
}

/** Where a training stage runs. */
export interface At {
  readonly span: string // the Effect.fn span of every batch, `Module.function`
  readonly stage: string // in records and errors, and the name of the batches' random streams
  readonly run: Run.Run
  readonly batchSize: number
}

/** What it does with a batch. */
export interface Spec<A, K extends Role, T, B, E2 = never> {
  readonly models: ReadonlyArray<K> // the roles read
  readonly optimizer: readonly [role: Role, settings: OptimizerSettings] // the role trained
  readonly step: (batch: Batch<A, K>) => Guard.Checked<T> | Effect.Effect<Guard.Checked<T>, E2>
  readonly emit: (value: T, seconds: number, batch: Batch<A, K>) => Emitted<B>
  readonly finite?: ReadonlyArray<string> // record values that stop the stage when not finite (at the record's step)
}

export const train = <A, const K extends Role, T, B, E2 = never>(at: At, spec: Spec<A, K, T, B, E2>) =>
<E, R>(self: Stream.Stream<A, E, R>): Stream.Stream<B, E | E2 | StageError | MetricsError, R | Models | Metrics> =>
  self.pipe(each(at.span, at.batchSize, (items: NonEmptyReadonlyArray<A>, index: number) =>
    Effect.gen(function*() {
      const service = yield* Models
      const metrics = yield* Metrics
      const models = {} as { [k in K]: Transformer.Model }
      for (const role of spec.models) models[role] = yield* service.get(role)
      const opt = yield* service.optimizer(...spec.optimizer)
      const batch: Batch<A, K> = {
        items,
        index,
        models,
        opt,
        rng: Run.rng(at.run, at.stage, index),
        tokenizer: service.tokenizer,
        record: (step, values) => ({ stage: at.stage, iteration: at.run.iteration, step, values })
      }
      const { seconds, value: outcome } = yield* Timed.effect(Effect.suspend(() => {
        const stepped = spec.step(batch)
        return "ok" in stepped ? Effect.succeed(stepped) : stepped
      }))
      if (!outcome.ok) return yield* nonFinite(at.stage, opt.step + 1, outcome.metric, outcome.bad) // a failed update leaves opt.step before it
      const { records, out } = spec.emit(outcome.value, seconds, batch)
      for (const r of records) {
        const bad = Guard.firstNonFinite((spec.finite ?? []).flatMap((k) => r.values[k] === undefined ? [] : [[k, r.values[k]] as const]))
        if (bad !== undefined) return yield* nonFinite(at.stage, r.step, bad[0], bad[1])
      }
      for (const r of records) yield* metrics.log(r)
      return out
    })))
