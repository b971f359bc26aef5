import { Effect, Schema } from "effect"
import * as Gae from "../math/Gae.ts"
import * as PpoMath from "../math/Ppo.ts"
import * as Whiten from "../math/Whiten.ts"
import type * as Guard from "../model/Guard.ts"
import type * as Optimizer from "../model/Optimizer.ts"
import * as Packed from "../model/Packed.ts"
import * as PpoPass from "../model/PpoPass.ts"
import * as Score from "../model/Score.ts"
import type * as Transformer from "../model/Transformer.ts"
import * as Batched from "./Batched.ts"
import * as Field from "./Field.ts"
import * as Microbatch from "../model/Microbatch.ts"
import type * as TrainingPass from "../model/TrainingPass.ts"
import * as Run from "./Run.ts"
import * as SharedStep from "./SharedStep.ts"
import type { Segment } from "./Segment.ts"

/**
 * Phase 4 of StepAgent (update): PPO on one-step episodes. Each element is a state (a segment), an action
 * (its tokens, the response) and a step reward. Per batch, top to bottom:
 *   1. score: per-token log-probs and values under the current policy (the "old" policy of this batch; taken from
 *      the episodes when they carry what the policy gave when it sampled them: `logp`, `values`, StepAgent's sampling
 *      and outcome PPO's rollouts),
 *      per-token log-probs under the frozen reference (taken from the episodes when they carry them: `refLogp`, what
 *      StepAgent's implicit reward scored already);
 *   2. rewards: r_t = -klCoef (log π_old - log π_ref) at every action token, plus the step reward at the
 *      last action token (`Ppo.tokenRewards`); the step rewards optionally whitened over the batch first
 *      (`whitenRewards`), apart from the penalty;
 *   3. advantages: GAE(γ, λ) over the action tokens, the episode ending after its last token
 *      (`Gae.compute`), then whitened over the batch;
 *   4. update: `epochs` passes over shuffled minibatches, each one optimizer step on
 *        clipped surrogate + vfCoef * clipped value loss - entropyCoef * entropy
 *      stopping the batch early once a minibatch's approximate KL exceeds `targetKl` (when set).
 * One metrics record per optimizer step. A non-finite loss or gradient stops the stage with a
 * StageError naming the metric; that update is not applied.
 *
 * `configWith(epochs)` is the config schema with `epochs` defaulting to `epochs`: 4 in `Config` (TRL's `num_ppo_epochs`;
 * outcome PPO), 1 in StepAgent (`StepAgent.Config`), where one pass measured as good as more (docs/paper-table.md).
 */
export const configWith = (epochs: number) => Schema.Struct({
  batchSize: Field.int(64), // one-step episodes per PPO batch: TRL's per-device rollout batch
  minibatchSize: Field.int(16), // episodes per optimizer step: 4 minibatches a batch, as CleanRL
  epochs: Field.int(epochs), // passes over each batch
  clip: Field.positive(0.2), // surrogate clip ε: TRL / CleanRL
  valueClip: Field.positive(0.2), // value clip: TRL's cliprange_value
  gamma: Field.unit(1), // discount over action tokens: TRL's γ = 1 (the KL penalty is per token, the reward at the end)
  lambda: Field.unit(0.95), // GAE λ: TRL
  klCoef: Field.nonNegative(0.05), // per-token KL penalty against the reference: TRL's kl_coef
  vfCoef: Field.nonNegative(0.1), // value loss weight: TRL's vf_coef
  entropyCoef: Field.nonNegative(0), // entropy bonus λ: TRL has none; the inverse variant sets its own (StepAgent)
  whitenAdvantages: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(true))), // TRL whitens advantages per batch
  whitenRewards: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(true))), // step rewards to zero mean, unit variance per batch, apart from the KL penalty (TRL's whiten_rewards whitens the sum, off by default); measured: step rewards of ~0.1 (β 0.1) drown in the fresh value head's noise without it
  targetKl: Field.optionalPositive(null), // early stop on approximate KL: off, as TRL (CleanRL's target_kl is None too)
  learningRate: Field.nonNegative(1e-5), // a fine-tuning rate an order below SFT's: small steps keep the ratio near 1
  maxGradNorm: Field.nonNegative(1), // TRL's max_grad_norm
  maxTokens: Field.int(8192), // padded tokens per forward pass: bounds activations (gradients are accumulated)
  // minibatches of whole trajectories (the episodes of one expert trajectory together, the trajectories in a seeded
  // order: Run.groupedPermutation), so a minibatch's states pack into shared trunks (Packed.pack) and a pass costs about
  // one trajectory's tokens plus its actions, not every state's prefix; "shuffled" draws episodes one by one (TRL's
  // sample-level shuffle, each state then its own sequence)
  minibatchOrder: Schema.Literals(["grouped", "shuffled"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("grouped" as const))),
  // a minibatch's update split into at least this many passes (by trajectory): two training threads can share it
  // (`--train-threads`), and the numbers do not depend on how many there are (as the SFT stage's `minPasses`)
  minPasses: Field.int(2)
})
export const Config = configWith(4) // TRL's num_ppo_epochs
export type Config = typeof Config.Type
export const defaults: Config = Schema.decodeUnknownSync(Config)({})

/** A one-step episode: the state, the action's tokens (the response) and the step reward. */
export interface Episode {
  readonly segment: Segment
  readonly tokens: Int32Array
  readonly reward: number
  // leading action tokens never pushed down (a negative advantage there becomes 0): StepAgent's `spareExpertPrefix`
  // sets it to the length of the part that repeats the expert's action; absent, none
  readonly spared?: number
  // the reference's per-token log-probs of `tokens` at the state, when the caller has them (StepAgent's implicit reward
  // scored them): when every episode of a batch has them, PPO does not score the reference
  readonly refLogp?: Float32Array | undefined
  // the policy's per-token log-probs (temperature 1) and values of `tokens` at the state when it sampled them (StepAgent's
  // sampling stage and outcome PPO's rollouts give both): when every episode of a batch has them, they are the batch's old
  // policy and PPO does not score it again. They are the behaviour policy's, which PPO's ratio is defined against; when the stages' batches
  // align (StepAgent's defaults: 64 states, k = 1, 64 episodes) it is also the policy the batch starts from, since the
  // reward stages train other models and a batch is sampled after the previous batch's update
  readonly logp?: Float32Array | undefined
  readonly values?: Float32Array | undefined
}

export const stage = "ppo"

interface StepStats {
  readonly loss: number
  readonly gradNorm: number
  readonly learningRate: number
  readonly policyLoss: number
  readonly valueLoss: number
  readonly entropy: number
  readonly approxkl: number
  readonly clipfrac: number
  readonly valueClipfrac: number
  readonly ptx: number // mean token negative log-likelihood of the expert's actions (0 without ptx)
}

interface BatchStats {
  readonly steps: ReadonlyArray<StepStats & { readonly step: number }>
  readonly kl: number
  readonly nonScore: number
  readonly tokens: number
  readonly earlyStop: boolean
  readonly sparedFrac: number // action tokens whose negative advantage was spared (set to 0), over all action tokens
}

/**
 * One PPO batch: its scoring synchronously (all tensors live and die inside), then its updates, each one's passes
 * shared by the training threads when there are any (`SharedStep`).
 */
export const batch = Effect.fn("Ppo.batch")(function*(
  policy: Transformer.Model,
  reference: Transformer.Model,
  opt: Optimizer.Optimizer,
  episodes: ReadonlyArray<Episode>,
  config: Config,
  rng: ReturnType<typeof Run.rng>,
  ptxCoef = 0
) {
  const ctx = policy.config.contextLength
  // every (state, action) pair is packed with the other pairs of its trajectory (`Packed.pack`): one pass per trajectory window
  const requests = episodes.map((e): Packed.Request => ({ trajectory: e.segment.trajectory, step: e.segment.step, action: e.tokens }))
  // 1. score: the old policy's per-token log-probs and values (given by the sampling stage, or scored), the reference's
  // log-probs (given by the reward stage, or scored)
  const old = sampled(episodes) ?? Score.packed(policy, requests, { maxTokens: config.maxTokens })
  const B = old.rows
  const A = old.width
  const given = episodes.every((e) => e.refLogp !== undefined && e.refLogp.length === e.tokens.length)
  const refLogp = given ? new Float32Array(B * A) : Score.packed(reference, requests, { maxTokens: config.maxTokens }).logp // (B*A)
  if (given) episodes.forEach((e, i) => refLogp.set(e.refLogp!.subarray(0, A), i * A))
  const mask = old.mask
  // 2. rewards: per-token KL penalty, the step reward at the last action token
  // the step rewards are whitened over the batch on their own, before the KL penalty joins them: whitening the sum
  // would scale the penalty with the rewards' spread, and a reward that is mostly noise would be blown up with it
  const raw = Float32Array.from(episodes, (e) => e.reward)
  const stepRewards = config.whitenRewards ? Whiten.masked(raw, new Float32Array(B).fill(1)) : raw
  const scored = PpoMath.tokenRewards(old.logp, refLogp, mask, stepRewards, B, A, config.klCoef)
  const kl = scored.kl
  const rewards = scored.rewards
  // 3. advantages: GAE over the action tokens, whitened over the batch
  const gae = Gae.compute(rewards, old.values, mask, B, A, config.gamma, config.lambda)
  const whitened = config.whitenAdvantages ? Whiten.masked(gae.advantages, mask) : gae.advantages
  // after whitening: a spared token keeps a positive advantage and loses a negative one (StepAgent's spareExpertPrefix)
  const spared = episodes.some((e) => (e.spared ?? 0) > 0)
    ? PpoMath.spareLeading(whitened, episodes.map((e) => e.spared ?? 0), B, A)
    : { advantages: whitened, zeroed: 0 }
  const advantages = spared.advantages
  const klSum = kl.reduce((a, b) => a + b, 0)
  // 4. update: epochs of shuffled minibatches, one optimizer step each
  const steps: Array<StepStats & { readonly step: number }> = []
  let earlyStop = false
  let tokens = 0
  for (let epoch = 0; epoch < config.epochs && !earlyStop; epoch++) {
    const order = config.minibatchOrder === "grouped" ? Run.groupedPermutation(rng, episodes.map((e) => e.segment.trajectory)) : Run.permutation(rng, B)
    for (let start = 0; start < B && !earlyStop; start += config.minibatchSize) {
      const mb = Array.from(order.subarray(start, Math.min(B, start + config.minibatchSize)))
      const mbTokens = mb.reduce((n, r) => n + old.mask.subarray(r * A, (r + 1) * A).reduce((a, b) => a + b, 0), 0)
      // ptx: the expert's action at each state of the minibatch, a row of the same packed trunks (it is the trunk's own
      // next action: nearly no extra tokens)
      const expert = ptxCoef > 0 ? expertRequests(mb.map((r) => requests[r]!)) : []
      const passes = Packed.passes(Packed.pack(ctx, [...mb.map((r) => requests[r]!), ...expert]), Microbatch.trainingTokens(policy.config, config.maxTokens), config.minPasses)
      // (R,) per pass: 1 on its expert rows (none without ptx)
      const expertRows = passes.map((pass) => expert.length === 0 ? undefined : Float32Array.from(pass.requests, (q) => q >= mb.length ? 1 : 0))
      const expertTokens = expert.length === 0 ? 0 : passes.reduce((n, pass, p) => n + PpoPass.agentTokens(pass.batch) - PpoPass.agentTokens(pass.batch, expertRows[p]), 0)
      const data = passes.map((pass, p): TrainingPass.Pass => {
        const b = pass.batch
        const rows = Array.from(pass.requests, (q) => q < mb.length ? mb[q]! : undefined) // the pass's rows as episodes of the batch (undefined: an expert row)
        const W = b.width
        const microTokens = PpoPass.agentTokens(b, expertRows[p])
        tokens += b.batch * b.length
        return {
          kind: "ppo",
          pass: {
            batch: b,
            oldLogp: Microbatch.rows(old.logp, A, rows, W),
            oldValues: Microbatch.rows(old.values, A, rows, W),
            advantages: Microbatch.rows(advantages, A, rows, W),
            returns: Microbatch.rows(gae.returns, A, rows, W),
            clip: config.clip,
            valueClip: config.valueClip,
            vfCoef: config.vfCoef,
            entropyCoef: config.entropyCoef,
            weight: (microTokens / Math.max(1, mbTokens)) * passes.length, // token-weighted: the mean over passes is the minibatch's masked mean
            ...(expertRows[p] === undefined ? {} : {
              expert: expertRows[p],
              ptxScale: ptxCoef * passes.length / Math.max(1, expertTokens) // the optimizer's mean over passes: ptxCoef times the mean token NLL
            })
          }
        }
      })
      const outcome = yield* SharedStep.guarded(
        policy,
        opt,
        data,
        7,
        (r) => ({
          loss: r.loss,
          gradNorm: r.gradNorm,
          learningRate: r.learningRate,
          policyLoss: r.sums[0]!,
          valueLoss: r.sums[1]!,
          entropy: r.sums[2]!,
          approxkl: r.sums[3]!,
          clipfrac: r.sums[4]!,
          valueClipfrac: r.sums[5]!,
          ptx: r.sums[6]! * Math.max(1, mbTokens) / Math.max(1, expertTokens) // summed over passes, then divided by the minibatch's PPO tokens
        }),
        (s) => [["loss/policy", s.policyLoss], ["loss/value", s.valueLoss], ["policy/entropy", s.entropy], ["loss/total", s.loss], ["grad/norm", s.gradNorm]],
        Math.max(1, mbTokens) // the statistics are token-weighted means over the minibatch
      )
      if (!outcome.ok) return outcome
      steps.push({ ...outcome.value, step: opt.step })
      if (config.targetKl !== null && outcome.value.approxkl > config.targetKl) earlyStop = true
    }
  }
  const actionTokens = mask.reduce((a, c) => a + c, 0)
  return {
    ok: true,
    value: { steps, kl: klSum / Math.max(1, B), nonScore: -config.klCoef * klSum / Math.max(1, B), tokens, earlyStop, sparedFrac: spared.zeroed / Math.max(1, actionTokens) }
  } as Guard.Checked<BatchStats>
})

/**
 * Rewarded one-step episodes -> the policy updated; one metrics record logged per optimizer step (the stream carries nothing): `policy/approxkl`,
 * `policy/clipfrac`, `policy/entropy`, `loss/policy`, `loss/value`, `objective/kl`, `reward/step_mean`,
 * `perf/tokens_per_s`, `timing/ppo_s`, ... The policy (role `policy`) is updated in place. `name` is the stage
 * name in records and errors (`ppo`; the outcome baseline logs as `outcome_ppo`).
 */
export const ppo = (config: Config, run: Run.Run, name: string = stage, options: Options = {}) =>
  Batched.train({ span: "Ppo.ppo", stage: name, run, batchSize: config.batchSize }, {
    models: ["policy", "reference"],
    optimizer: ["policy", { learningRate: config.learningRate, clipNorm: config.maxGradNorm }],
    step: ({ items, models, opt, rng }: Batched.Batch<Episode, "policy" | "reference">) => {
      const stepReward = meanReward(items)
      if (!Number.isFinite(stepReward)) return { ok: false, metric: "reward/step_mean", bad: stepReward } // before any update
      return batch(models.policy, models.reference, opt, items, config, rng, options.ptxCoef ?? 0)
    },
    emit: (r, seconds, b) => {
      const records = r.steps.map((s) =>
        b.record(s.step, {
          "policy/approxkl": s.approxkl,
          "policy/clipfrac": s.clipfrac,
          "policy/entropy": s.entropy,
          "loss/policy": s.policyLoss,
          "loss/value": s.valueLoss,
          "value/clipfrac": s.valueClipfrac,
          "objective/kl": r.kl,
          "objective/non_score_reward": r.nonScore,
          "reward/step_mean": meanReward(b.items),
          "grad/norm": s.gradNorm,
          "lr": s.learningRate,
          "policy/early_stop": r.earlyStop ? 1 : 0,
          ...((options.ptxCoef ?? 0) > 0 ? { "loss/ptx": s.ptx } : {}),
          ...(b.items.some((e) => e.spared !== undefined) ? { "ppo/spared_frac": r.sparedFrac } : {}),
          "perf/tokens_per_s": seconds > 0 ? r.tokens / seconds : 0,
          "perf/padded_tokens": r.tokens, // of the batch's update passes (forward and backward), padding included: what a batch costs
          [`timing/${name}_s`]: seconds / Math.max(1, r.steps.length)
        })
      )
      return { records, out: [] }
    }
  })

/**
 * The old policy's scores as the sampling stage recorded them, laid out as `Score.packed` lays them out (row r =
 * episode r, A = the longest action), when every episode carries both its log-probs and its values; else undefined.
 * A sampled action always fits its state's context (the sampler stops at it), so packing scores every token too.
 */
export const sampled = (episodes: ReadonlyArray<Episode>): Pick<Score.Scores, "rows" | "width" | "logp" | "values" | "mask"> | undefined => {
  const given = (x: Float32Array | undefined, e: Episode) => x !== undefined && x.length === e.tokens.length
  if (episodes.length === 0 || !episodes.every((e) => given(e.logp, e) && given(e.values, e))) return undefined
  const R = episodes.length
  const A = Math.max(1, ...episodes.map((e) => e.tokens.length))
  const logp = new Float32Array(R * A)
  const values = new Float32Array(R * A)
  const mask = new Float32Array(R * A)
  episodes.forEach((e, r) => {
    logp.set(e.logp!, r * A)
    values.set(e.values!, r * A)
    mask.fill(1, r * A, r * A + e.tokens.length)
  })
  return { rows: R, width: A, logp, values, mask }
}

const meanReward = (episodes: ReadonlyArray<Episode>): number => episodes.reduce((s, e) => s + e.reward, 0) / episodes.length

/**
 * What a caller adds to PPO beyond its config. `ptxCoef` (StepAgent's; 0: none): each minibatch also trains on the
 * expert's action at each of its states, ptxCoef times its mean token negative log-likelihood (InstructGPT's PPO-ptx
 * mix, OpenRLHF's `ptx_coef`, with the demonstrations as the supervised data). Meaningful only where an episode's state
 * is an expert state whose next action is the expert's (StepAgent's segments), so outcome PPO never sets it.
 */
export interface Options {
  readonly ptxCoef?: number | undefined
}

/** The distinct states of `agent`'s requests (first appearance first), each as a request for the expert's action there. */
const expertRequests = (agent: ReadonlyArray<Packed.Request>): Array<Packed.Request> => {
  const seen = new Map<unknown, Set<number>>()
  const out: Array<Packed.Request> = []
  for (const q of agent) {
    const steps = seen.get(q.trajectory) ?? new Set<number>()
    seen.set(q.trajectory, steps)
    if (steps.has(q.step)) continue
    steps.add(q.step)
    out.push({ trajectory: q.trajectory, step: q.step })
  }
  return out
}
