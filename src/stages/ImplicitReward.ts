import { Effect, Schema, Stream } from "effect"
import { Metrics, type MetricsError } from "../metrics/Metrics.ts"
import * as Field from "./Field.ts"
import { Models } from "./Models.ts"
import * as Preference from "./Preference.ts"
import * as RewardAuc from "./RewardAuc.ts"
import * as Run from "./Run.ts"
import type { Rewarded } from "./Rewarded.ts"
import type { AgentAction } from "./Sample.ts"
import { nonFinite, type StageError } from "./StageError.ts"
import * as Timed from "./Timed.ts"

/**
 * Phase 3 of StepAgent, implicit variant (reflection). For each batch of agent actions, the reward model
 * π_φ (role `reward`, initialised from the SFT policy) takes `steps` step-level DPO updates on seeded
 * minibatches of the pairs (expert action chosen, agent action rejected, at the same expert state) where the agent's
 * action differs from the expert's (`dpo/pairs` of them), against the frozen reference
 * π_ref (role `reference`, the SFT policy standing in for the expert's likelihood, see DESIGN.md):
 *   L = -E[log σ(β log π_φ(a_e|s)/π_ref(a_e|s) - β log π_φ(a|s)/π_ref(a|s))]
 * then every agent action is emitted with its step reward r(s, a) = β (log π_φ(a|s) - log π_ref(a|s)),
 * and the expert's action's reward at the same state (for metrics). Before π_φ trains on a batch, its rewards
 * there are held-out: `reward/auc` is how often they rank the expert's action above an agent action that
 * differs from it (ties count half; 0.5 = no information), the signal check of ../shared/SCIENCE.md.
 */
export const Config = Schema.Struct({
  beta: Field.positive(0.1), // DPO's β: TRL's default, the paper's step-DPO setting
  nllCoef: Field.nonNegative(0), // α of an NLL term on the expert's actions (RPO, TRL's rpo_alpha): off, as the paper's plain DPO
  batchSize: Field.int(64), // pairs per batch: each batch is trained on, then rewarded
  // DPO updates of π_φ per batch, each on `minibatchSize` pairs: 4 passes over a batch of 64 whose every pair differs
  // (fewer when some agent actions equal the expert's). Measured on qa: one update per batch (TRL's single epoch, ~2 per
  // iteration) left β·Δlog π at 0.005-0.05, the size of the KL penalty
  steps: Field.int(16),
  minibatchSize: Field.int(16), // pairs per update: small steps, as in the policy's PPO minibatches
  learningRate: Field.nonNegative(3e-4), // a small model from scratch moves slowly at 1e-4; TRL's 1e-6 suits billion-parameter models
  maxGradNorm: Field.nonNegative(1), // TRL's max_grad_norm
  maxTokens: Field.int(8192) // padded tokens per forward pass: bounds activations (gradients are accumulated)
})
export type Config = typeof Config.Type
export const defaults: Config = Schema.decodeUnknownSync(Config)({})

export const stage = "implicit_reward"

/** Agent actions -> rewarded agent actions (same order). Logs `loss/dpo`, `dpo/*`, `reward/step_mean`, `reward/expert_mean` per batch. */
export const implicitReward = (config: Config, run: Run.Run) =>
<E, R>(actions: Stream.Stream<AgentAction, E, R>): Stream.Stream<Rewarded, E | StageError | MetricsError, R | Models | Metrics> =>
  Stream.unwrap(Effect.gen(function*() {
    const models = yield* Models
    const metrics = yield* Metrics
    let batchIndex = 0
    return actions.pipe(
      Stream.grouped(config.batchSize),
      Stream.mapEffect((batch) =>
        Effect.gen(function*() {
          const model = yield* models.get("reward")
          const reference = yield* models.get("reference")
          const opt = yield* models.optimizer("reward", { learningRate: config.learningRate, clipNorm: config.maxGradNorm })
          const rng = Run.rng(run, stage, batchIndex++)
          const differs = batch.map((a) => RewardAuc.differs(a))
          const differing = differs.flatMap((d, i) => d ? [i] : [])
          const { value: result, seconds } = yield* Timed.sync(() => {
            const pairs = Preference.pairs(model.config.contextLength, batch)
            const ref = Preference.logps(reference, pairs, config.maxTokens)
            const heldOutLogps = Preference.logps(model, pairs, config.maxTokens) // before π_φ sees these pairs
            const heldOut = Preference.implicit(heldOutLogps, ref, config.beta)
            const stats: Array<Preference.StepStats> = []
            // a pair whose agent action is the expert's states no preference (its DPO gradient is exactly 0): the
            // updates draw their minibatches from the differing pairs only, and a batch where fewer pairs differ takes
            // proportionally fewer updates (as many contrasts seen as drawing from all pairs, without the idle passes)
            const train = Preference.select(pairs, differing)
            const trainRef = Preference.selectLogps(ref, differing)
            const m = Math.min(config.minibatchSize, train.n)
            let order = Preference.order(rng, train)
            let at = 0
            const steps = Math.ceil(config.steps * train.n / Math.max(1, pairs.n))
            for (let s = 0; s < steps; s++) {
              if (at + m > train.n) {
                order = Preference.order(rng, train)
                at = 0
              }
              const rows = Array.from(order.subarray(at, at + m)).sort((a, b) => a - b)
              at += m
              const outcome = Preference.update(model, opt, Preference.select(train, rows), Preference.selectLogps(trainRef, rows), config.beta, config.maxTokens, config.nllCoef)
              if (!outcome.ok) return { ok: false, metric: outcome.metric, bad: outcome.bad, step: opt.step + 1 } as const
              stats.push(outcome.value)
            }
            return { ok: true, stats, heldOut, heldOutLogps, ref, rewards: Preference.rewards(model, pairs, ref, config.beta, config.maxTokens) } as const
          })
          if (!result.ok) return yield* Effect.fail(nonFinite(stage, result.step, result.metric, result.bad))
          const { rewards, stats } = result
          const auc = RewardAuc.auc(result.heldOut.chosen, result.heldOut.rejected, differs)
          // what the reward adds to what the policies already know: the same held-out pairs ranked by the reference's
          // likelihood (the SFT policy's own preference) and by π_φ's likelihood, without the ratio
          const referenceAuc = RewardAuc.auc(result.ref.chosen, result.ref.rejected, differs)
          const rewardModelAuc = RewardAuc.auc(result.heldOutLogps.chosen, result.heldOutLogps.rejected, differs)
          const mean = (x: Float32Array) => x.reduce((a, b) => a + b, 0) / Math.max(1, x.length)
          const stepMean = mean(rewards.rejected)
          const expertMean = mean(rewards.chosen)
          if (!Number.isFinite(stepMean)) return yield* Effect.fail(nonFinite(stage, opt.step, "reward/step_mean", stepMean))
          const last = stats[stats.length - 1] // none when the agent wrote the expert's action at every state of the batch
          yield* metrics.log({
            stage,
            iteration: run.iteration,
            step: opt.step,
            values: {
              ...(last === undefined ? {} : {
                "loss/dpo": last.loss,
                "dpo/accuracy": last.accuracy,
                "dpo/margin": last.margin,
                "dpo/chosen_reward": last.chosenReward,
                "dpo/rejected_reward": last.rejectedReward,
                "grad/norm": last.gradNorm,
                "lr": last.learningRate
              }),
              "dpo/pairs": differing.length,
              "reward/step_mean": stepMean,
              "reward/expert_mean": expertMean,
              "reward/expert_above_agent": rewards.chosen.reduce((n, c, i) => n + (c > rewards.rejected[i]! ? 1 : 0), 0) / Math.max(1, batch.length),
              ...RewardAuc.metrics(auc),
              ...(referenceAuc.pairs === 0 ? {} : { "reward/auc_reference": referenceAuc.auc, "reward/auc_reward_model": rewardModelAuc.auc }),
              "timing/implicit_reward_s": seconds
            }
          })
          return batch.map((a, i): Rewarded => ({ ...a, reward: rewards.rejected[i]!, expertReward: rewards.chosen[i]! }))
        })
      ),
      Stream.flattenIterable
    )
  }))
