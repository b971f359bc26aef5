import { Effect, Schema } from "effect"
import * as Tokenized from "../domain/Tokenized.ts"
import * as ActionBatch from "../model/ActionBatch.ts"
import * as Context from "../model/Context.ts"
import * as GradientStep from "../model/GradientStep.ts"
import * as Guard from "../model/Guard.ts"
import type * as Optimizer from "../model/Optimizer.ts"
import * as Policy from "../model/Policy.ts"
import * as Rng from "../model/Rng.ts"
import type * as Transformer from "../model/Transformer.ts"
import * as Batched from "./Batched.ts"
import * as Field from "./Field.ts"
import * as Microbatch from "../model/Microbatch.ts"
import * as SftPass from "../model/SftPass.ts"
import * as SharedStep from "./SharedStep.ts"
import type * as Run from "./Run.ts"

/**
 * The warm start (the "novice"): behaviour cloning on expert trajectories. The loss is the mean negative
 * log-likelihood of the expert's action tokens (an action flagged as no target, `Tokenized.trained`, is context only), plus `observationLossWeight` times the mean negative
 * log-likelihood of the other tokens (observations; the instruction too when it is kept). Each
 * trajectory is one causal forward pass (one per window when it exceeds the context, `Context.windows`):
 * every action of the trajectory is scored in that pass, so no prefix is computed twice.
 * Epochs are the caller's: pipe the trajectories through `Stream.repeat` or re-read the dataset (the runner
 * shuffles them per epoch). The learning rate warms up, then decays over `totalSteps` (the stage's steps,
 * given by the caller; 0 keeps it constant after the warm-up).
 */
export const Config = Schema.Struct({
  batchSize: Field.int(8), // trajectories per optimizer step: ETO's SFT uses small batches of whole conversations
  learningRate: Field.nonNegative(1e-3), // peak rate: training a small model from scratch wants ~1e-3 (nanoGPT's small models use 6e-4..1e-3)
  maxGradNorm: Field.nonNegative(1), // TRL's max_grad_norm
  maxTokens: Field.int(8192), // padded tokens per forward pass: bounds activations (gradients are accumulated)
  warmupSteps: Field.int(50, 0), // linear warm-up: Adam's moments settle before the peak rate (nanoGPT warms up over a few % of training)
  schedule: Schema.Literals(["constant", "linear", "cosine"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("cosine" as const))), // nanoGPT's decay, over the stage's epochs
  minLearningRateRatio: Field.unit(0.1), // the decay ends at a tenth of the peak, as nanoGPT
  // language-model loss on observation tokens, relative to the action loss (0 = actions only, ETO's SFT): the
  // observations repeat names and numbers, which teaches a model trained from scratch to attend back and copy
  observationLossWeight: Field.nonNegative(0.25),
  // the share of observation rows (spans of up to 32 tokens) in that loss, drawn afresh each step from the batch's seeded
  // stream: the loss stays a mean over observation tokens, its cost (the LM and copy heads run on every row, ~12% of a
  // quickstart step) shrinks with it. Absent = 1, every row (an optional key: older run configs keep their hash)
  observationLossFraction: Schema.optionalKey(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
  trajectories: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))), // the first N of the data (default: all); the rest is the held-out pool
  offset: Field.int(0, 0), // where its trajectories start in the data (sft-more trains on the pool after the warm start's)
  // a step split into at least this many passes: two threads can share every step (`--train-threads`), and the numbers
  // do not depend on how many there are; one pass of a small step costs about as much as two halves on one thread
  minPasses: Field.int(2)
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

/** Language-model rows are cut to this width: an (R, A, V) logits block stays small when observations are long. */
const lmRowWidth = 32

/** The [start, end) spans of a window's non-action targets (positions 1..length-1), cut into rows of `lmRowWidth`. */
export const observationSpans = (length: number, actions: ReadonlyArray<readonly [number, number]>): Array<readonly [number, number]> => {
  const out: Array<readonly [number, number]> = []
  const push = (a: number, b: number) => {
    for (let s = a; s < b; s += lmRowWidth) out.push([s, Math.min(b, s + lmRowWidth)])
  }
  let at = 1
  for (const [a, b] of actions) {
    if (a > at) push(at, a)
    at = Math.max(at, b)
  }
  if (length > at) push(at, length)
  return out
}

/** The [start, end) spans of a window's actions that are targets of imitation (every action but those flagged as none). */
const targets = (t: Tokenized.TokenizedTrajectory, w: Context.Window): ReadonlyArray<readonly [number, number]> =>
  w.actions.filter((_, j) => Tokenized.trained(t, w.firstStep + j))

/** An SFT step's passes (as data) and its counts. */
export interface Plan {
  readonly passes: ReadonlyArray<SftPass.Pass>
  readonly tokens: number // padded tokens of all passes
  readonly actionTokens: number
  readonly truncatedTokens: number
}

/** Observation rows kept in the language-model loss: each with probability `fraction`, drawn from `rng` in row order. */
export interface ObservationSample {
  readonly fraction: number
  readonly rng: Rng.Rng
}

/**
 * The passes of one SFT step on a batch of trajectories: at least `minPasses` when it has that many windows. Pure
 * (`sample` advances its own stream).
 */
export const plan = (
  config: Transformer.Config,
  trajectories: ReadonlyArray<Tokenized.TokenizedTrajectory>,
  maxTokens: number,
  observationLossWeight = 0,
  minPasses = 1,
  sample?: ObservationSample
): Plan => {
  const windows = trajectories.flatMap((t) => Context.windows(t, config.contextLength).map((w) => ({ ...w, targets: targets(t, w) })))
  const withLm = observationLossWeight > 0
  const keep = sample === undefined || sample.fraction >= 1 ? () => true : () => Rng.uniform(sample.rng) < sample.fraction
  // an action that is no target (Tokenized.trained) is in neither the action rows nor the language-model rows
  const seqs: Array<ActionBatch.Sequence & { readonly actionRows: number }> = windows.map((w) => ({
    parts: w.parts,
    actions: withLm ? [...w.targets, ...observationSpans(w.length, w.actions).filter(keep)] : w.targets,
    actionRows: w.targets.length
  })).filter((q) => q.actions.length > 0)
  const actionTokens = windows.reduce((n, w) => n + w.targets.reduce((m, [a, b]) => m + b - a, 0), 0)
  const lmTokens = withLm ? seqs.reduce((n, q) => n + q.actions.slice(q.actionRows).reduce((m, [a, b]) => m + b - a, 0), 0) : 0
  const micro = Microbatch.plan(seqs.map((s) => Context.lengthOf(s.parts)), Microbatch.trainingTokens(config, maxTokens), 1, minPasses)
  const passes = micro.map((rows): SftPass.Pass => {
    const batch = ActionBatch.build(rows.map((r) => seqs[r]!))
    // per row: 1 / (action tokens) for action rows, weight / (observation tokens) for language-model rows; times the
    // micro-batch count, because the optimizer averages micro-batches: the sum over micro-batches is then exactly
    // mean action NLL + weight * mean observation NLL
    const rowScale = new Float32Array(batch.rows)
    const isAction = new Float32Array(batch.rows)
    let r = 0
    for (const q of rows) {
      const seq = seqs[q]!
      for (let k = 0; k < seq.actions.length; k++, r++) {
        isAction[r] = k < seq.actionRows ? 1 : 0
        rowScale[r] = micro.length * (k < seq.actionRows ? 1 / Math.max(1, actionTokens) : observationLossWeight / Math.max(1, lmTokens))
      }
    }
    return { batch, rowScale, isAction }
  })
  return {
    passes,
    tokens: passes.reduce((n, p) => n + SftPass.cost(p), 0),
    actionTokens,
    truncatedTokens: windows.reduce((n, w) => n + w.truncatedTokens, 0)
  }
}

const stats = (p: Plan) => (r: GradientStep.Result): SftStats => ({
  loss: r.loss,
  accuracy: r.sums[0]! / Math.max(1, p.actionTokens),
  gradNorm: r.gradNorm,
  learningRate: r.learningRate,
  tokens: p.tokens,
  actionTokens: p.actionTokens,
  truncatedTokens: p.truncatedTokens
})

const checked = (s: SftStats): ReadonlyArray<readonly [string, number]> => [["loss/sft", s.loss], ["grad/norm", s.gradNorm]]

/** One SFT step on a batch of trajectories, synchronously, every pass on this thread. */
export const step = (
  policy: Transformer.Model,
  opt: Optimizer.Optimizer,
  trajectories: ReadonlyArray<Tokenized.TokenizedTrajectory>,
  maxTokens: number,
  observationLossWeight = 0,
  minPasses = 1
): Guard.Checked<SftStats> => {
  const p = plan(policy.config, trajectories, maxTokens, observationLossWeight, minPasses)
  const passes = p.passes.map((pass): GradientStep.Pass => (capture) => SftPass.loss(policy, pass, capture))
  return GradientStep.guarded(opt, passes, 1, stats(p), checked)
}

/** One SFT step with its passes shared by the training threads when there are any (`SharedStep`): the same update as `step` to the bit. */
export const stepShared = (
  policy: Transformer.Model,
  opt: Optimizer.Optimizer,
  trajectories: ReadonlyArray<Tokenized.TokenizedTrajectory>,
  maxTokens: number,
  observationLossWeight: number,
  minPasses: number,
  sample?: ObservationSample
) => {
  const p = plan(policy.config, trajectories, maxTokens, observationLossWeight, minPasses, sample)
  return SharedStep.guarded(policy, opt, p.passes.map((pass) => ({ kind: "sft", pass }) as const), 1, stats(p), checked)
}

/** Expert trajectories -> the policy trained in place; one metrics record logged per optimizer step (`loss/sft`, `sft/token_accuracy`, ...), the stream carries nothing. */
export const sft = (config: Config, run: Run.Run, schedule: { readonly totalSteps: number } = { totalSteps: 0 }) =>
  Batched.train({ span: "Sft.sft", stage, run, batchSize: config.batchSize }, {
    models: ["policy"],
    optimizer: ["policy", {
      learningRate: config.learningRate,
      clipNorm: config.maxGradNorm,
      warmupSteps: config.warmupSteps,
      totalSteps: schedule.totalSteps,
      schedule: config.schedule,
      minLearningRateRatio: config.minLearningRateRatio
    }],
    step: (b: Batched.Batch<Tokenized.TokenizedTrajectory, "policy">) =>
      stepShared(b.models.policy, b.opt, b.items, config.maxTokens, config.observationLossWeight, config.minPasses, {
        fraction: config.observationLossFraction ?? 1,
        rng: b.rng
      }),
    emit: (s, seconds, b) => {
      const record = b.record(b.opt.step, {
        "loss/sft": s.loss,
        "sft/token_accuracy": s.accuracy,
        "sft/action_tokens": s.actionTokens,
        "context/truncated_tokens": s.truncatedTokens,
        "grad/norm": s.gradNorm,
        "lr": s.learningRate,
        "perf/tokens_per_s": seconds > 0 ? s.tokens / seconds : 0,
        "timing/sft_s": seconds
      })
      return { records: [record], out: [] }
    }
  })
