import { Context, type Effect, Schema } from "effect"
import type { Tokenizer } from "../data/Tokenizer.ts"
import { Trajectory } from "../domain/Trajectory.ts"
import { EnvSpec } from "../env/EnvSpec.ts"
import type * as Transformer from "../model/Transformer.ts"
import type * as Rollout from "./Rollout.ts"

/**
 * Where units of work run. Without this service (the default) every stage runs its episodes in its own process,
 * exactly as written; with it (`--cluster URL`: src/cluster/ClusterDispatcher.ts), a stage hands each unit to a
 * worker process and waits for its result. A unit names everything its result depends on (the tasks, the random
 * stream's seed, the policy by content hash, the environment), so a retried or duplicated unit gives the same
 * result, and a run's numbers do not depend on how many workers there are (docs/scale-out.md).
 */

/** A wave of evaluation episodes: `Rollout.run` of the model policy on `taskIds`, together. */
export const Wave = Schema.Struct({
  taskIds: Schema.Array(Schema.String),
  seed: Schema.Int, // the wave's random stream (`Run.streamSeed`): sampling at temperature > 0
  maxSteps: Schema.NullOr(Schema.Int),
  maxTokens: Schema.Int,
  temperature: Schema.Number,
  env: EnvSpec
})
export type Wave = typeof Wave.Type

/** An episode as it crosses processes: `Rollout.Episode` without the tokens (evaluation does not keep them). */
export const EpisodeRecord = Schema.Struct({
  taskId: Schema.String,
  trajectory: Trajectory,
  reward: Schema.Number,
  success: Schema.Boolean,
  steps: Schema.Int,
  termination: Schema.String
})
export type EpisodeRecord = typeof EpisodeRecord.Type

export const toRecord = (e: Rollout.Episode): EpisodeRecord => ({
  taskId: e.taskId,
  trajectory: e.trajectory,
  reward: e.reward,
  success: e.success,
  steps: e.steps,
  termination: e.termination
})

export const fromRecord = (r: EpisodeRecord): Rollout.Episode => ({
  ...r,
  termination: r.termination as Rollout.Termination,
  tokenized: undefined
})

/**
 * A unit that could not be run: `Unavailable` (the cluster cannot be reached, or no worker took the unit in time),
 * `Failed` (a worker ran it and it failed there: the policy could not be fetched, the environment refused it).
 * `message` is one line saying why.
 */
export class DispatchError extends Schema.TaggedError<DispatchError>()("DispatchError", {
  reason: Schema.Literals(["Unavailable", "Failed"]),
  message: Schema.String
}) {}

/** The policy a unit acts with, as the learner holds it: the dispatcher publishes it under its content hash. */
export interface Policy {
  readonly model: Transformer.Model
  readonly tokenizer: Tokenizer
}

export class Dispatcher extends Context.Service<Dispatcher, {
  /** Where units run, for logs: `cluster postgres://...` */
  readonly describe: string
  /** Units a stage keeps in flight at once: enough to keep every worker busy (the cluster queues the rest). */
  readonly inFlight: number
  /** The episodes of a wave, in task order, run by a worker with exactly this policy's weights. */
  readonly episodes: (wave: Wave, policy: Policy) => Effect.Effect<ReadonlyArray<Rollout.Episode>, DispatchError>
}>()("stepagent/Dispatcher") {}
