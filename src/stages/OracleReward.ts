import { Effect, Schema, Stream } from "effect"
import { Metrics, type MetricsError } from "../metrics/Metrics.ts"
import * as Batched from "./Batched.ts"
import * as Field from "./Field.ts"
import * as RewardAuc from "./RewardAuc.ts"
import * as Rewarded from "./Rewarded.ts"
import * as Run from "./Run.ts"
import type { AgentAction } from "./Sample.ts"
import * as Timed from "./Timed.ts"

/**
 * A diagnostic step reward, not the paper's: r(s, a) = 1 when the agent's action is the expert's at that state
 * (the same tokens, <|eoa|> included), else 0. It is what the implicit and inverse rewards learn to estimate, known
 * exactly here because the expert's action is at hand. `reward: "oracle"` runs StepAgent with it, so that an
 * experiment can say what a perfect step reward (`reward/auc` 1 by construction) buys at a budget: the ceiling
 * against which the learned rewards are read (docs/stages.md). No model, no training; PPO whitens it per batch.
 * With `shuffle`, the placebo: the same rewards permuted within the batch, blind to the actions.
 */
export const Config = Schema.Struct({
  batchSize: Field.int(64), // agent actions per metrics record: as the learned rewards' batches
  // a placebo, off by default: the batch's agent rewards permuted by a seeded draw, the same number of 1s and 0s as
  // the oracle's but blind to which action earned one. What StepAgent's rounds buy without any information in the step
  // reward (PPO's KL penalty, value loss and whitening on the same states and samples), against which the oracle's and
  // the learned rewards' gains are read
  shuffle: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false)))
})
export type Config = typeof Config.Type
export const defaults: Config = Schema.decodeUnknownSync(Config)({})

export const stage = "oracle_reward"

/** The oracle's rewards of a batch, given which actions differ from the expert's: 1 where not, else 0; the expert's all 1. Pure. */
export const rewards = (differs: ReadonlyArray<boolean>): Rewarded.Rewards => ({
  expert: new Float32Array(differs.length).fill(1),
  agent: Float32Array.from(differs, (d) => d ? 0 : 1)
})

/** The agent rewards of `r` at `order` (a permutation): the placebo's. The expert's stay 1. Pure. */
export const permuted = (r: Rewarded.Rewards, order: Int32Array): Rewarded.Rewards => ({
  expert: r.expert,
  agent: Float32Array.from(order, (i) => r.agent[i]!)
})

/**
 * Agent actions -> rewarded agent actions (same order). Logs `reward/step_mean`, `reward/auc` (the placebo's: about 0.5,
 * it ranks at random), `timing/oracle_reward_s` per batch.
 */
export const oracleReward = (config: Config, run: Run.Run) =>
<E, R>(actions: Stream.Stream<AgentAction, E, R>): Stream.Stream<Rewarded.Rewarded, E | MetricsError, R | Metrics> =>
  actions.pipe(Batched.each("OracleReward.oracleReward", config.batchSize, (items: ReadonlyArray<AgentAction>, index: number) =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      const { value: [differs, r], seconds } = yield* Timed.sync(() => {
        const differs = items.map(RewardAuc.differs)
        const exact = rewards(differs)
        return [differs, config.shuffle ? permuted(exact, Run.permutation(Run.rng(run, `${stage}/placebo`, index), items.length)) : exact] as const
      })
      yield* metrics.log({
        stage,
        iteration: run.iteration,
        step: index + 1,
        values: { ...Rewarded.metrics(r, r, differs), "timing/oracle_reward_s": seconds }
      })
      return Rewarded.attach(items, r)
    })))
