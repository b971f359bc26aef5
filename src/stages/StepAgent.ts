import { Effect, Schema, Stream } from "effect"
import type * as Tokenized from "../domain/Tokenized.ts"
import type { Metrics, MetricsError } from "../metrics/Metrics.ts"
import type { DispatchError } from "./Dispatcher.ts"
import * as Field from "./Field.ts"
import * as ImplicitReward from "./ImplicitReward.ts"
import * as InverseReward from "./InverseReward.ts"
import * as Models from "./Models.ts"
import * as OracleReward from "./OracleReward.ts"
import * as Ppo from "./Ppo.ts"
import type { Rewarded } from "./Rewarded.ts"
import * as Run from "./Run.ts"
import * as Sample from "./Sample.ts"
import * as Segment from "./Segment.ts"
import type { StageError } from "./StageError.ts"

/**
 * One StepAgent iteration (arXiv 2411.03817) over the expert trajectories, as stages in the paper's order:
 *   0. models: π_ref is the policy frozen as it is at the first iteration (call it after SFT);
 *      π_φ (implicit) starts as a copy of that policy, D (inverse) too (its value head becomes D's logit;
 *      `inverse.init: "fresh"` for a fresh small transformer);
 *   1. inspection: segment every expert trajectory after each expert action;
 *   2. inspection: the current policy samples its own action at every expert state;
 *   3. reflection: a step reward for every agent action, `reward: "implicit"` (step-level DPO reward
 *      model, r = β log π_φ/π_ref) or `reward: "inverse"` (GAIL discriminator, r = -log D); `reward: "oracle"`
 *      (not the paper's: 1 where the agent wrote the expert's action, else 0) is the diagnostic ceiling they are read against;
 *   4. update: PPO on the (state, action, step reward) one-step episodes (skipped in the first `rewardWarmup`
 *      iterations, which train π_φ or D only: PPO then starts from a reward that has seen pairs).
 * The next iteration re-samples with the improved policy while π_φ or D keep training on the new pairs
 * (`iterations` chains them; a runner may call `iteration` itself, one per checkpoint).
 */
export const RewardVariant = Schema.Literals(["implicit", "inverse", "oracle"])
export type RewardVariant = typeof RewardVariant.Type

export const Config = Schema.Struct({
  reward: RewardVariant.pipe(Schema.withDecodingDefaultKey(Effect.succeed("implicit" as const))), // the paper's main variant
  sample: Sample.Config.pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))), // phase 2
  implicit: ImplicitReward.Config.pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))), // phase 3, implicit
  inverse: InverseReward.Config.pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))), // phase 3, inverse
  oracle: OracleReward.Config.pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))), // phase 3, the diagnostic ceiling
  // iterations at the start that train the reward model only (phases 1-3, no PPO): the step reward is held-out at
  // every new state, and a reward model that has seen a few hundred pairs ranks the expert's action above the agent's
  // far more often than one that has seen 64 (docs/paper-table.md); 0 = the paper's schedule, PPO from the first round
  rewardWarmup: Field.int(0, 0),
  entropyCoef: Field.nonNegative(0.01), // λ of the inverse variant's entropy bonus λ·H(π_θ) in PPO: CleanRL's ent_coef
  // not the paper's: PPO never pushes down the tokens of an agent action that repeat the expert's action from its start
  // (a negative advantage there becomes 0). A low step reward judges the whole action, yet the mistake is at or after
  // the first token that differs. Off by default, the paper's update: on qa (one seed, docs/paper-table.md) it gave no
  // consistent gain, and PPO at 1e-4 with the oracle reward lost held-out success with it as without it
  spareExpertPrefix: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false))),
  // not the paper's: PPO's minibatches also train on the expert's action at each of their states, ptxCoef times its mean
  // token negative log-likelihood (InstructGPT's PPO-ptx, OpenRLHF's ptx_coef; the demonstrations are the supervised
  // data, and the expert's action is its state's own next action in the packed trunk, so it costs almost nothing).
  // 0 = the paper's update, PPO on the step reward alone
  ptxCoef: Field.nonNegative(0),
  // phase 4 (its entropyCoef applies to the implicit variant); one epoch, one pass over each batch: at the table's budget
  // on qa (seeds 9-11, preregistered, docs/paper-table.md) one pass of PPO and of the reward model reached the held-out
  // success of 2 epochs and 4 reward passes (lean minus default +1.2 [-0.8, +3.5] implicit, +0.3 [-2.8, +3.2] inverse
  // points) in 0.70x (implicit) and 0.56x (inverse) of their iteration time
  ppo: Ppo.configWith(1).pipe(Schema.withDecodingDefaultKey(Effect.succeed({})))
})
export type Config = typeof Config.Type
export const defaults: Config = Schema.decodeUnknownSync(Config)({})

/** Decodes a partial config (absent fields take their defaults); throws on a bad field. */
export const config = (input: unknown): Config => Schema.decodeUnknownSync(Config)(input)

/** Phase 0: the models this variant needs, created from the policy where missing. */
export const prepare = Effect.fn("StepAgent.prepare")(function*(config: Config, run: Run.Run) {
  yield* Models.ensureReference
  if (config.reward === "implicit") yield* Models.ensureReward
  else if (config.reward === "oracle") return // no reward model: the expert's action is the answer
  else if (config.inverse.init === "policy") yield* Models.ensureDiscriminatorFromPolicy
  else yield* Models.ensureDiscriminator(Run.streamSeed({ seed: run.seed, iteration: 0 }, "discriminator"))
})

/** What a caller may watch without changing the iteration: each rewarded action (reports' step-reward heatmaps). */
export interface Observers {
  readonly rewarded?: ((r: Rewarded) => Effect.Effect<void>) | undefined
}

/** One iteration over expert trajectories; its metrics are logged (Metrics), the stream carries nothing. Needs role `policy`. */
export const iteration = (config: Config, run: Run.Run, observers: Observers = {}) =>
<E, R>(trajectories: Stream.Stream<Tokenized.TokenizedTrajectory, E, R>): Stream.Stream<never, E | StageError | MetricsError | DispatchError, R | Models.Models | Metrics> =>
  Stream.unwrap(Effect.gen(function*() {
    yield* prepare(config, run) // 0. models
    const reflect = config.reward === "implicit"
      ? ImplicitReward.implicitReward(config.implicit, run)
      : config.reward === "oracle"
      ? OracleReward.oracleReward(config.oracle, run)
      : InverseReward.inverseReward(config.inverse, run)
    const ppo = config.reward === "inverse" ? { ...config.ppo, entropyCoef: config.entropyCoef } : config.ppo
    return trajectories.pipe(
      Segment.segment, // 1. inspection: cut after every expert action
      Sample.sample(config.sample, run), // 2. inspection: the policy acts at the expert's states
      reflect, // 3. reflection: a reward for every step
      observers.rewarded === undefined ? (s) => s : Stream.tap(observers.rewarded),
      config.spareExpertPrefix ? Stream.map((r: Rewarded) => ({ ...r, spared: Segment.expertPrefix(r.segment, r.tokens) })) : (s) => s,
      run.iteration < config.rewardWarmup ? (s) => Stream.drain(s) : Ppo.ppo(ppo, run, Ppo.stage, { ptxCoef: config.ptxCoef }) // 4. update
    )
  }))

/** Iterations first..first+count-1 in order, each over a fresh read of the trajectories (`source`). */
export const iterations = <E, R>(
  config: Config,
  options: { readonly seed: number; readonly count: number; readonly first?: number },
  source: () => Stream.Stream<Tokenized.TokenizedTrajectory, E, R>
): Stream.Stream<never, E | StageError | MetricsError | DispatchError, R | Models.Models | Metrics> =>
  Stream.fromIterable(Array.from({ length: options.count }, (_, i) => (options.first ?? 0) + i)).pipe(
    Stream.flatMap((i) => iteration(config, { seed: options.seed, iteration: i })(source()))
  )
