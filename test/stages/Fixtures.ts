import { Layer } from "effect"
import type { Tokenizer } from "../../src/data/Tokenizer.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Metrics from "../../src/metrics/Metrics.ts"
import * as Models from "../../src/stages/Models.ts"
import type * as Segment from "../../src/stages/Segment.ts"

/** A Models layer holding `policy` (and its frozen reference unless told otherwise) plus an in-memory Metrics. */
export const layer = (
  tokenizer: Tokenizer,
  policy: Transformer.Model,
  records: Array<Metrics.MetricRecord> = [],
  options: { readonly reference?: boolean } = {}
) =>
  Layer.mergeAll(
    Models.layer({
      tokenizer,
      models: options.reference === false
        ? { policy: { model: policy } }
        : { policy: { model: policy }, reference: { model: Transformer.freeze(policy) } }
    }),
    Metrics.layerMemory(records)
  )

/** Every weight's values, in order (for exact comparisons). */
export const weights = (m: Transformer.Model): Array<Float32Array> =>
  Transformer.named(m.weights).map(([, v]) => Float32Array.from(v.dataSync() as Float32Array))

export const sameWeights = (a: ReadonlyArray<Float32Array>, b: ReadonlyArray<Float32Array>): boolean =>
  a.length === b.length && a.every((x, i) => x.length === b[i]!.length && x.every((v, j) => Object.is(v, b[i]![j])))

/** Mean log π(expert action | state) over segments (nats per action). */
export const expertLogLikelihood = (m: Transformer.Model, segments: ReadonlyArray<Segment.Segment>): number => {
  const s = Score.segments(m, segments)
  return s.sum.reduce((a, b) => a + b, 0) / Math.max(1, s.rows)
}

/** The run (seed, iteration) the wiring tests give the PPO and SFT stages. */
export const at = { seed: 7, iteration: 0 }
