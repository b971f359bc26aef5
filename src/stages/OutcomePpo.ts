import { Duration, Effect, Schema, Stream } from "effect"
import * as Tokenized from "../domain/Tokenized.ts"
import type { Env } from "../env/Env.ts"
import { Metrics, type MetricsError } from "../metrics/Metrics.ts"
import * as Batched from "./Batched.ts"
import * as Evaluate from "./Evaluate.ts"
import * as Field from "./Field.ts"
import { Models } from "./Models.ts"
import * as Ppo from "./Ppo.ts"
import type * as Dispatch from "./Dispatcher.ts"
import type * as Rollout from "./Rollout.ts"
import * as Run from "./Run.ts"
import type { StageError } from "./StageError.ts"

/**
 * Baseline: PPO on full environment rollouts with only the final reward (the sparse-reward setting
 * StepAgent improves on). Training tasks are rolled out by the current policy, `parallel` at a time
 * (`Rollout.run`, sampling at `temperature`). Every step (s_t, a_t) of a rollout becomes a one-step PPO
 * episode with the same machinery as StepAgent's update (`Ppo.ppo`), and
 *
 *   the step reward of every step is the episode's outcome R (the environment's final reward, 0 when the
 *   episode failed or hit its step limit).
 *
 * This is exactly the return of the multi-step episode with γ = 1 and zero intermediate rewards: the
 * return-to-go of every step is R. Within a step, R sits on the action's last token and the per-token KL
 * penalty applies as in StepAgent; the value head gives each step its own baseline V(s_t), so steps are
 * credited by R - V(s_t): no step-level signal tells the good steps of a failed episode from the bad ones.
 */
export const Config = Schema.Struct({
  parallel: Field.int(16), // episodes in flight: one batched sampling call spans them all
  maxSteps: Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))).pipe(Schema.withDecodingDefaultKey(Effect.succeed(null))), // null: the environment's own step limit
  maxTokens: Field.int(64), // longest action, as in StepAgent's sampling
  temperature: Field.nonNegative(1), // sample from the policy itself: PPO is on-policy
  ppo: Ppo.Config.pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))) // the same PPO as StepAgent's update
})
export type Config = typeof Config.Type
export const defaults: Config = Schema.decodeUnknownSync(Config)({})

export const stage = "outcome_ppo"

/**
 * The one-step episodes of a rollout: every step's action, rewarded with the episode's outcome, with the log-probs and
 * values the policy gave it when it sampled it (PPO's old policy: the behaviour policy's, as StepAgent's) when the
 * rollout kept them.
 */
export const episodes = (e: Rollout.Episode): Array<Ppo.Episode> => {
  const t = e.tokenized
  if (t === undefined) return []
  return Array.from({ length: Tokenized.stepCount(t) }, (_, step) => ({
    segment: { trajectory: t, step },
    tokens: t.tokens.subarray(Tokenized.actStart(t, step), Tokenized.actEnd(t, step)),
    reward: e.reward,
    ...(e.sampled === undefined ? {} : { logp: e.sampled.logp[step], values: e.sampled.values[step] })
  }))
}

/** Training task ids -> PPO on their episodes; logs `rollout/*` per wave and PPO metrics per optimizer step (the stream carries nothing). */
export const outcomePpo = (config: Config, run: Run.Run) =>
<E, R>(taskIds: Stream.Stream<string, E, R>): Stream.Stream<never, E | StageError | MetricsError | Dispatch.DispatchError, R | Env | Models | Metrics> =>
  taskIds.pipe(
    Batched.each("OutcomePpo.outcomePpo", config.parallel, (ids: ReadonlyArray<string>, wave: number) =>
      Effect.gen(function*() {
        const metrics = yield* Metrics
        const [duration, rollouts] = yield* Evaluate.policyWave(config, stage, ids, config.maxSteps, Run.streamSeed(run, stage, wave), true)
        const s = Evaluate.summary(rollouts)
        yield* metrics.log({
          stage,
          iteration: run.iteration,
          step: wave + 1,
          values: {
            "rollout/avg_reward": s.avgReward,
            "rollout/success_rate": s.successRate,
            "rollout/avg_steps": s.avgSteps,
            "rollout/error_rate": s.errorRate,
            "timing/rollout_s": Duration.toSeconds(duration)
          }
        })
        return rollouts.flatMap(episodes)
      })
    ),
    Ppo.ppo(config.ppo, run, stage)
  )
