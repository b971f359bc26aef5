import { Effect, Schema, Stream } from "effect"
import type * as Tokenized from "../domain/Tokenized.ts"
import { Metrics, type MetricRecord, type MetricsError } from "../metrics/Metrics.ts"
import * as Field from "./Field.ts"
import { Models } from "./Models.ts"
import * as Preference from "./Preference.ts"
import * as Sample from "./Sample.ts"
import type * as Run from "./Run.ts"
import * as Segment from "./Segment.ts"
import { nonFinite, type StageError } from "./StageError.ts"
import * as Timed from "./Timed.ts"

/**
 * Baseline: the step-level DPO loss applied to the policy directly, no reward model and no PPO.
 * Segments are sampled by the current policy exactly as in StepAgent (phases 1-2), then the policy
 * itself takes `steps` DPO updates per batch on (expert action chosen, its own action rejected) at each
 * expert state, against the frozen reference π_ref:
 *   L = -E[log σ(β log π_θ(a_e|s)/π_ref(a_e|s) - β log π_θ(a|s)/π_ref(a|s))]
 */
export const Config = Schema.Struct({
  sample: Sample.Config.pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))), // the same sampling as StepAgent's
  beta: Field.positive(0.1), // DPO's β: TRL's default
  nllCoef: Field.nonNegative(0), // α of an NLL term on the expert's actions (RPO, TRL's rpo_alpha): off, plain step DPO
  batchSize: Field.int(64), // pairs per batch
  steps: Field.int(1), // DPO updates per batch: one pass over the data, as TRL's single DPO epoch
  learningRate: Field.nonNegative(1e-5), // the policy's fine-tuning rate, as PPO's: the same budget of change per step
  maxGradNorm: Field.nonNegative(1), // TRL's max_grad_norm
  maxTokens: Field.int(8192) // padded tokens per forward pass: bounds activations (gradients are accumulated)
})
export type Config = typeof Config.Type
export const defaults: Config = Schema.decodeUnknownSync(Config)({})

export const stage = "step_dpo"

/** Expert trajectories -> one metrics record per DPO update of the policy (`loss/dpo`, `dpo/*`). Needs roles `policy` and `reference`. */
export const stepDpo = (config: Config, run: Run.Run) =>
<E, R>(trajectories: Stream.Stream<Tokenized.TokenizedTrajectory, E, R>): Stream.Stream<MetricRecord, E | StageError | MetricsError, R | Models | Metrics> =>
  Stream.unwrap(Effect.gen(function*() {
    const models = yield* Models
    const metrics = yield* Metrics
    return trajectories.pipe(
      Segment.segment, // 1. inspection: cut after every expert action
      Sample.sample(config.sample, run), // 2. inspection: the policy acts at the expert's states
      Stream.grouped(config.batchSize),
      Stream.mapEffect((batch) => // 3. update: step-level DPO on the policy itself
        Effect.gen(function*() {
          const policy = yield* models.get("policy")
          const reference = yield* models.get("reference")
          const opt = yield* models.optimizer("policy", { learningRate: config.learningRate, clipNorm: config.maxGradNorm })
          const { seconds, value: result } = yield* Timed.sync(() => {
            const pairs = Preference.pairs(policy.config.contextLength, batch)
            const ref = Preference.logps(reference, pairs, config.maxTokens)
            const out: Array<Preference.StepStats & { readonly step: number }> = []
            for (let s = 0; s < config.steps; s++) {
              const outcome = Preference.update(policy, opt, pairs, ref, config.beta, config.maxTokens, config.nllCoef)
              if (!outcome.ok) return { ok: false, step: opt.step + 1, metric: outcome.metric, bad: outcome.bad } as const
              out.push({ ...outcome.value, step: opt.step })
            }
            return { ok: true, steps: out } as const
          })
          if (!result.ok) return yield* Effect.fail(nonFinite(stage, result.step, result.metric, result.bad))
          const records = result.steps.map((s): MetricRecord => ({
            stage,
            iteration: run.iteration,
            step: s.step,
            values: {
              "loss/dpo": s.loss,
              "dpo/accuracy": s.accuracy,
              "dpo/margin": s.margin,
              "dpo/chosen_reward": s.chosenReward,
              "dpo/rejected_reward": s.rejectedReward,
              "grad/norm": s.gradNorm,
              "lr": s.learningRate,
              "timing/step_dpo_s": seconds / Math.max(1, result.steps.length)
            }
          }))
          for (const r of records) yield* metrics.log(r)
          return records
        })
      ),
      Stream.flattenIterable
    )
  }))
