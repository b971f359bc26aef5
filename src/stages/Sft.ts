import * as tf from "@tensorflow/tfjs"
import { Effect, Schema, Stream } from "effect"
import type * as Tokenized from "../domain/Tokenized.ts"
import * as ActionBatch from "../model/ActionBatch.ts"
import * as Context from "../model/Context.ts"
import * as Optimizer from "../model/Optimizer.ts"
import * as Policy from "../model/Policy.ts"
import type * as Transformer from "../model/Transformer.ts"
import { Metrics, type MetricRecord } from "../pipeline/Metrics.ts"
import * as Field from "./Field.ts"
import * as Guard from "./Guard.ts"
import * as Microbatch from "./Microbatch.ts"
import { Models } from "./Models.ts"
import type * as Run from "./Run.ts"
import { nonFinite, type StageError } from "./StageError.ts"
import * as Timed from "./Timed.ts"

/**
 * The warm start (the "novice"): behaviour cloning on expert trajectories. The loss is the mean negative
 * log-likelihood of the expert's action tokens only (instruction and observations are context). Each
 * trajectory is one causal forward pass (one per window when it exceeds the context, `Context.windows`):
 * every action of the trajectory is scored in that pass, so no prefix is computed twice.
 * Epochs are the caller's: pipe the trajectories through `Stream.repeat` or re-read the dataset.
 */
export const Config = Schema.Struct({
  batchSize: Field.int(8), // trajectories per optimizer step: ETO's SFT uses small batches of whole conversations
  learningRate: Field.nonNegative(1e-3), // Optimizer's note: training a small model from scratch wants ~1e-3
  maxGradNorm: Field.nonNegative(1), // TRL's max_grad_norm
  maxTokens: Field.int(8192) // padded tokens per forward pass: bounds activations (gradients are accumulated)
})
export type Config = typeof Config.Type
export const defaults: Config = Schema.decodeUnknownSync(Config)({})

export const stage = "sft"

interface SftStats {
  readonly loss: number
  readonly accuracy: number
  readonly gradNorm: number
  readonly learningRate: number
  readonly tokens: number
  readonly actionTokens: number
  readonly truncatedTokens: number
}

const lengthOf = (s: ActionBatch.Sequence): number => s.parts.reduce((n, p) => n + p.length, 0)

/** One SFT step on a batch of trajectories, synchronously. */
export const step = (
  policy: Transformer.Model,
  opt: Optimizer.Optimizer,
  trajectories: ReadonlyArray<Tokenized.TokenizedTrajectory>,
  maxTokens: number
): Guard.Outcome<SftStats> => {
  const windows = trajectories.flatMap((t) => Context.windows(t, policy.config.contextLength))
  const seqs: Array<ActionBatch.Sequence> = windows.map((w) => ({ parts: w.parts, actions: w.actions }))
  const actionTokens = windows.reduce((n, w) => n + w.actions.reduce((m, [a, b]) => m + b - a, 0), 0)
  const micro = Microbatch.plan(seqs.map(lengthOf), maxTokens)
  const captured: Array<tf.Tensor> = []
  let tokens = 0
  const losses = micro.map((rows) => {
    const b = ActionBatch.build(rows.map((r) => seqs[r]!))
    const microTokens = b.mask.reduce((a, c) => a + c, 0)
    const weight = (microTokens / Math.max(1, actionTokens)) * micro.length // token-weighted: exactly the mean over all action tokens
    tokens += b.batch * b.length
    return () =>
      tf.tidy(() => {
        const t = ActionBatch.tensors(b)
        const o = Policy.outputs(policy, t)
        const nll = tf.neg(tf.div(tf.sum(o.logp), Math.max(1, microTokens))) as tf.Scalar
        const hits = tf.sum(tf.mul(tf.cast(tf.equal(tf.argMax(o.logits, -1), t.target), "float32"), t.mask))
        captured.push(tf.keep(hits))
        return tf.mul(nll, weight) as tf.Scalar
      })
  })
  return Guard.update(
    opt,
    () => {
      const r = Optimizer.minimize(opt, losses)
      let hits = 0
      for (const t of captured) {
        hits += t.dataSync()[0]!
        t.dispose()
      }
      return {
        loss: r.loss,
        accuracy: hits / Math.max(1, actionTokens),
        gradNorm: r.gradNorm,
        learningRate: r.learningRate,
        tokens,
        actionTokens,
        truncatedTokens: windows.reduce((n, w) => n + w.truncatedTokens, 0)
      }
    },
    (s) => Guard.firstNonFinite([["loss/sft", s.loss], ["grad/norm", s.gradNorm]])
  )
}

/** Expert trajectories -> one metrics record per optimizer step (`loss/sft`, `sft/token_accuracy`, ...); the policy is trained in place. */
export const sft = (config: Config, run: Run.Run) =>
<E, R>(trajectories: Stream.Stream<Tokenized.TokenizedTrajectory, E, R>): Stream.Stream<MetricRecord, E | StageError, R | Models | Metrics> =>
  Stream.unwrap(Effect.gen(function*() {
    const models = yield* Models
    const metrics = yield* Metrics
    return trajectories.pipe(
      Stream.grouped(config.batchSize),
      Stream.mapEffect((batch) =>
        Effect.gen(function*() {
          const policy = yield* models.get("policy")
          const opt = yield* models.optimizer("policy", { learningRate: config.learningRate, clipNorm: config.maxGradNorm })
          const { seconds, value: outcome } = yield* Timed.sync(() => step(policy, opt, batch, config.maxTokens))
          if (!outcome.ok) return yield* Effect.fail(nonFinite(stage, opt.step + 1, outcome.metric, outcome.bad))
          const s = outcome.value
          const record: MetricRecord = {
            stage,
            iteration: run.iteration,
            step: opt.step,
            values: {
              "loss/sft": s.loss,
              "sft/token_accuracy": s.accuracy,
              "sft/action_tokens": s.actionTokens,
              "context/truncated_tokens": s.truncatedTokens,
              "grad/norm": s.gradNorm,
              "lr": s.learningRate,
              "perf/tokens_per_s": seconds > 0 ? s.tokens / seconds : 0,
              "timing/sft_s": seconds
            }
          }
          yield* metrics.log(record)
          return record
        })
      )
    )
  }))
