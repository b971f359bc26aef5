import { Effect, Schema, type Stream } from "effect"
import type * as Tokenized from "../domain/Tokenized.ts"
import * as Batched from "./Batched.ts"
import * as Field from "./Field.ts"
import * as Preference from "./Preference.ts"
import * as Sample from "./Sample.ts"
import type * as Run from "./Run.ts"
import * as Segment from "./Segment.ts"

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
  maxTokens: Field.int(8192), // padded tokens per forward pass: bounds activations (gradients are accumulated)
  minPasses: Field.int(2) // an update split into at least this many passes: training threads share it, same numbers (as SFT's)
})
export type Config = typeof Config.Type
export const defaults: Config = Schema.decodeUnknownSync(Config)({})

export const stage = "step_dpo"

/** Expert trajectories -> the policy updated by step DPO; one metrics record logged per update (`loss/dpo`, `dpo/*`), the stream carries nothing. Needs roles `policy` and `reference`. */
export const stepDpo = (config: Config, run: Run.Run) =>
<E, R>(trajectories: Stream.Stream<Tokenized.TokenizedTrajectory, E, R>) =>
  trajectories.pipe(
    Segment.segment, // 1. inspection: cut after every expert action
    Sample.sample(config.sample, run), // 2. inspection: the policy acts at the expert's states
    Batched.train({ span: "StepDpo.stepDpo", stage, run, batchSize: config.batchSize }, { // 3. update: step-level DPO on the policy itself
      models: ["policy", "reference"],
      optimizer: ["policy", { learningRate: config.learningRate, clipNorm: config.maxGradNorm }],
      step: ({ items, models, opt }: Batched.Batch<Sample.AgentAction, "policy" | "reference">) => {
        const pairs = Preference.pairs(models.policy.config.contextLength, items)
        return Preference.train(models.policy, opt, pairs, Preference.logps(models.reference, pairs, config.maxTokens), config, config.steps)
      },
      emit: (steps, seconds, b) => {
        const records = steps.map((s) =>
          b.record(s.step, {
            "loss/dpo": s.loss,
            "dpo/accuracy": s.accuracy,
            "dpo/margin": s.margin,
            "dpo/chosen_reward": s.chosenReward,
            "dpo/rejected_reward": s.rejectedReward,
            "grad/norm": s.gradNorm,
            "lr": s.learningRate,
            "timing/step_dpo_s": seconds / Math.max(1, steps.length)
          })
        )
        return { records, out: [] }
      }
    })
  )
