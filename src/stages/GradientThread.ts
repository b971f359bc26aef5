import * as tf from "@tensorflow/tfjs"
import { Cause, Effect, Exit, Layer, ManagedRuntime } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import * as Failpoint from "../fault/Failpoint.ts"
import type * as ActionBatch from "../model/ActionBatch.ts"
import * as Backend from "../model/backend/Backend.ts"
import type * as BackendOptions from "../model/backend/BackendOptions.ts"
import * as TfjsInit from "../model/backend/TfjsInit.ts"
import * as GradientStep from "../model/GradientStep.ts"
import type * as ModelSample from "../model/Sample.ts"
import * as SampleParts from "../model/SampleParts.ts"
import * as ScorePasses from "../model/ScorePasses.ts"
import * as TrainingPass from "../model/TrainingPass.ts"
import * as Transformer from "../model/Transformer.ts"

/**
 * A helper thread of `GradientThreads`: its own tensor backend (one thread), a copy of the model, and the passes it is
 * given. Messages in: `{_tag: "train", id, config, names, weights, passes}` (the model's config, its weights in
 * optimizer order with their names, training passes as data: `TrainingPass`) or `{_tag: "score", id, config, names,
 * weights, head, batches}` (scoring passes: `ScorePasses`) or `{_tag: "sample", id, config, names, weights, part}` (a part
 * of a sampling: `SampleParts`); out: `{_tag: "done", id, results}` (one `GradientStep.Computed` per pass, in order),
 * `{_tag: "scored", id, scores}` (one array per batch, `ScorePasses.passScores`), `{_tag: "sampled", id, samples}` or
 * `{_tag: "failed", id, message}`, and `ready` / `fatal` once.
 */
export interface Data {
  readonly backend: BackendOptions.Options
}

/** The model a request computes with: its config and weights (named, in `Transformer.named` order). */
interface Weighted {
  readonly id: number
  readonly config: Transformer.Config
  readonly names: ReadonlyArray<string>
  readonly weights: ReadonlyArray<Float32Array>
}

export type Request =
  | Weighted & { readonly _tag: "train"; readonly passes: ReadonlyArray<TrainingPass.Pass> }
  | Weighted & { readonly _tag: "score"; readonly head: ScorePasses.Head; readonly batches: ReadonlyArray<ActionBatch.ActionBatch> }
  | Weighted & { readonly _tag: "sample"; readonly part: SampleParts.Part }

export type Reply =
  | { readonly _tag: "ready"; readonly backend: string; readonly numerics: string }
  | { readonly _tag: "fatal"; readonly message: string }
  | { readonly _tag: "done"; readonly id: number; readonly results: ReadonlyArray<GradientStep.Computed> }
  | { readonly _tag: "scored"; readonly id: number; readonly scores: ReadonlyArray<Float32Array> }
  | { readonly _tag: "sampled"; readonly id: number; readonly samples: ModelSample.StateSamples }
  | { readonly _tag: "failed"; readonly id: number; readonly message: string }

/** The helper's copy of a model, one per config (a run trains one policy; its weights are overwritten each request). */
interface Copy {
  readonly model: Transformer.Model
  readonly names: ReadonlyArray<string>
  readonly variables: ReadonlyArray<tf.Variable>
}
const copies = new Map<string, Copy>()

const copyOf = (config: Transformer.Config): Copy => {
  const key = JSON.stringify(config)
  const found = copies.get(key)
  if (found !== undefined) return found
  const model = Transformer.init(config, 0)
  const named = Transformer.named(model.weights)
  const copy = { model, names: named.map(([n]) => n), variables: named.map(([, v]) => v) }
  copies.set(key, copy)
  return copy
}

/** The copy of the request's model, holding the request's weights. */
const holding = (r: Weighted): Copy => {
  const copy = copyOf(r.config)
  if (copy.names.length !== r.names.length || copy.names.some((n, i) => n !== r.names[i])) {
    throw new Error(`gradient thread: the weights sent are not the model's (${r.names.length} sent, ${copy.names.length} here)`)
  }
  tf.tidy(() => copy.variables.forEach((v, i) => v.assign(tf.tensor(r.weights[i]!, v.shape))))
  return copy
}

/** The passes' gradients on a copy of the model holding the request's weights. */
export const compute = (r: Weighted & { readonly passes: ReadonlyArray<TrainingPass.Pass> }): ReadonlyArray<GradientStep.Computed> => {
  const copy = holding(r)
  return r.passes.map((pass) => GradientStep.compute(copy.variables, (capture) => TrainingPass.loss(copy.model, pass, capture)))
}

/** The scoring passes' numbers on a copy of the model holding the request's weights (as the learner computes them). */
export const score = (r: Weighted & { readonly head: ScorePasses.Head; readonly batches: ReadonlyArray<ActionBatch.ActionBatch> }): ReadonlyArray<Float32Array> => {
  const copy = holding(r)
  return r.batches.map((b) => ScorePasses.passScores(copy.model, r.head, b))
}

/** A sampling part's actions on a copy of the model holding the request's weights (as the learner samples them). */
export const sample = (r: Weighted & { readonly part: SampleParts.Part }): ModelSample.StateSamples => SampleParts.sample(holding(r).model, r.part)

const port = parentPort
if (port !== null) {
  const data = workerData as Data
  // the learner logged its own backend; a helper's is the same one on one thread (the variables are not read: the
  // learner settled the request)
  const runtime = ManagedRuntime.make(Layer.effect(Backend.Backend, TfjsInit.initialise(data.backend, {})))
  const post = (r: Reply, transfer: ReadonlyArray<ArrayBuffer> = []) => port.postMessage(r, [...transfer])
  runtime.runPromiseExit(Effect.gen(function*() {
    return yield* Backend.Backend
  })).then((exit) => {
    if (Exit.isFailure(exit)) return post({ _tag: "fatal", message: Cause.pretty(exit.cause).split("\n")[0]! })
    post({ _tag: "ready", backend: Backend.describe(exit.value), numerics: Backend.numericsKey(exit.value) })
    port.on("message", (r: Request) => {
      if (Failpoint.due("gradient.thread")) process.exit(70) // in a worker thread: ends the thread, as a crash would
      if (r._tag === "sample") {
        const sampled = Effect.runSyncExit(Effect.sync(() => sample(r)))
        if (Exit.isFailure(sampled)) return post({ _tag: "failed", id: r.id, message: Cause.pretty(sampled.cause).split("\n")[0]! })
        return post({ _tag: "sampled", id: r.id, samples: sampled.value }) // copied: tens of KB
      }
      if (r._tag === "score") {
        const scored = Effect.runSyncExit(Effect.sync(() => score(r)))
        if (Exit.isFailure(scored)) return post({ _tag: "failed", id: r.id, message: Cause.pretty(scored.cause).split("\n")[0]! })
        const own = scored.value.map((a) => a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice()) // each its own buffer, to transfer
        return post({ _tag: "scored", id: r.id, scores: own }, own.map((a) => a.buffer as ArrayBuffer))
      }
      const done = Effect.runSyncExit(Effect.sync(() => compute(r)))
      if (Exit.isFailure(done)) return post({ _tag: "failed", id: r.id, message: Cause.pretty(done.cause).split("\n")[0]! })
      const buffers = done.value.flatMap((c) => [...c.grads.flatMap((g) => g === null ? [] : [g.buffer as ArrayBuffer]), c.statistics.buffer as ArrayBuffer])
      post({ _tag: "done", id: r.id, results: done.value }, buffers)
    })
  })
}
