import { Duration, Effect, Schema, Stream } from "effect"
import type { Trajectory } from "../domain/Trajectory.ts"
import type { Env } from "../env/Env.ts"
import * as Relabel from "../env/Relabel.ts"
import type { Simulator } from "../env/Simulator.ts"
import { Metrics, type MetricsError } from "../metrics/Metrics.ts"
import * as Batched from "./Batched.ts"
import type * as Dispatch from "./Dispatcher.ts"
import * as Evaluate from "./Evaluate.ts"
import * as Field from "./Field.ts"
import type { Models } from "./Models.ts"
import * as Run from "./Run.ts"
import * as Sft from "./Sft.ts"
import { StageError } from "./StageError.ts"

/**
 * DAgger-style rounds (Ross et al., 2011) after behaviour cloning: the policy plays training tasks, the expert labels
 * the states it reached (src/env/Relabel.ts: the agent's actions up to each of its first mistakes off the expert's
 * path, then the expert's from there), and the policy is trained by SFT on those trajectories mixed with expert
 * demonstrations. Behaviour cloning alone shows no state after a mistake; these rounds show the policy its own.
 * Needs an environment whose expert acts from any state (`Simulator.expertAfter`: house, shop).
 */
export const Config = Schema.Struct({
  parallel: Field.int(32), // episodes in flight: one batched sampling call spans them all (more than PPO's 16: no update between waves)
  // a rollout's step limit: its first mistakes come early (house, 2,400-step SFT: the median first divergence from the
  // expert at action 2 of 200 held-out episodes), and a policy that loops spends the rest of a 50-step episode repeating
  maxSteps: Field.int(20),
  maxTokens: Field.int(64), // longest action, as in evaluation
  temperature: Field.nonNegative(0), // greedy, as evaluation acts: the states the evaluated policy reaches
  cuts: Field.int(2), // trajectories per rollout at most, at its first mistakes off the expert's path (Relabel.Options)
  // expert demonstrations from the data mixed into each round, per relabelled trajectory: the relabelled states are all
  // off the expert's path, and the expert's own states must stay learnt
  expertRatio: Field.nonNegative(1),
  epochs: Field.int(1), // passes over each round's trajectories
  sft: Sft.Config.pipe(Schema.withDecodingDefaultKey(Effect.succeed({})))
})
export type Config = typeof Config.Type
export const defaults: Config = Schema.decodeUnknownSync(Config)({})

export const stage = "dagger"

/**
 * Training task ids -> the round's relabelled trajectories (rolled out `parallel` at a time, greedy by default); logs
 * `rollout/*` and `dagger/relabelled` per wave.
 */
export const relabelled = (config: Config, run: Run.Run, sim: Simulator) =>
<E, R>(taskIds: Stream.Stream<string, E, R>): Stream.Stream<Trajectory, E | StageError | MetricsError | Dispatch.DispatchError, R | Env | Models | Metrics> =>
  taskIds.pipe(
    Batched.each("Dagger.relabelled", config.parallel, (ids: ReadonlyArray<string>, wave: number) =>
      Effect.gen(function*() {
        if (sim.expertAfter === undefined) {
          return yield* Effect.fail(new StageError({ reason: "BadConfig", stage, step: 0, message: `stage dagger: the ${sim.name} expert cannot act from any state (only house's and shop's can)` }))
        }
        const metrics = yield* Metrics
        const [duration, rollouts] = yield* Evaluate.policyWave(config, stage, ids, config.maxSteps, Run.streamSeed(run, stage, wave), false)
        const out = rollouts.flatMap((e) =>
          Relabel.relabel(sim, e.taskId, e.trajectory.steps.map((s) => s.action), { cuts: config.cuts, id: `dagger-${run.iteration}-${e.taskId}` })
        )
        const s = Evaluate.summary(rollouts)
        yield* metrics.log({
          stage,
          iteration: run.iteration,
          step: wave + 1,
          values: {
            "rollout/success_rate": s.successRate,
            "rollout/avg_steps": s.avgSteps,
            "dagger/relabelled": out.length,
            "timing/rollout_s": Duration.toSeconds(duration)
          }
        })
        return out
      })
    )
  )

/** The most trajectories one round trains on: every rollout cut `cuts` times, and the expert's share of that. */
export const roundSize = (config: Config, episodes: number): { readonly relabelled: number; readonly expert: number } => {
  const relabelled = episodes * config.cuts
  return { relabelled, expert: Math.round(relabelled * config.expertRatio) }
}
