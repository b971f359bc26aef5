import { Context, Effect, Option, Schema } from "effect"
import type { Tokenizer } from "../data/Tokenizer.ts"
import { Trajectory } from "../domain/Trajectory.ts"
import { Env } from "../env/Env.ts"
import { EnvSpec } from "../env/EnvSpec.ts"
import * as Rng from "../model/Rng.ts"
import type * as Tokenized from "../domain/Tokenized.ts"
import type * as Packed from "../model/Packed.ts"
import type * as ModelSample from "../model/Sample.ts"
import type * as Transformer from "../model/Transformer.ts"
import * as Rollout from "./Rollout.ts"

/**
 * Where units of work run. Without this service (the default) every stage runs its episodes in its own process,
 * exactly as written; with it (`--cluster URL`: src/cluster/ClusterDispatcher.ts), a stage hands each unit to a
 * worker process and waits for its result. A unit names everything its result depends on (the tasks, the random
 * stream's seed, the policy by content hash, the environment), so a retried or duplicated unit gives the same
 * result, and a run's numbers do not depend on how many workers there are (docs/scale-out.md).
 */

/** A wave of episodes: `Rollout.run` of the model policy on `taskIds`, together (evaluation, outcome-PPO rollouts). */
export const Wave = Schema.Struct({
  taskIds: Schema.Array(Schema.String),
  seed: Schema.Int, // the wave's random stream (`Run.streamSeed`): sampling at temperature > 0
  maxSteps: Schema.NullOr(Schema.Int),
  maxTokens: Schema.Int,
  temperature: Schema.Number,
  env: EnvSpec,
  tokens: Schema.optionalKey(Schema.Boolean) // keep the tokens the policy saw and sampled (outcome PPO trains on them)
})
export type Wave = typeof Wave.Type

/** A trajectory's tokens as they cross processes (`Tokenized.TokenizedTrajectory`, arrays as numbers). */
const TrajectoryTokens = Schema.Struct({
  id: Schema.String,
  env: Schema.String,
  taskId: Schema.String,
  reward: Schema.Number,
  success: Schema.Boolean,
  tokens: Schema.Array(Schema.Int),
  spans: Schema.Array(Schema.Int),
  actionLoss: Schema.optionalKey(Schema.Array(Schema.Int))
})
type TrajectoryTokens = typeof TrajectoryTokens.Type

const toTokens = (t: Tokenized.TokenizedTrajectory): TrajectoryTokens => ({
  id: t.id, env: t.env, taskId: t.taskId, reward: t.reward, success: t.success, tokens: Array.from(t.tokens), spans: Array.from(t.spans),
  ...(t.actionLoss === undefined ? {} : { actionLoss: Array.from(t.actionLoss) })
})

const fromTokens = (t: TrajectoryTokens): Tokenized.TokenizedTrajectory => ({
  id: t.id, env: t.env, taskId: t.taskId, reward: t.reward, success: t.success, tokens: Int32Array.from(t.tokens), spans: Int32Array.from(t.spans),
  ...(t.actionLoss === undefined ? {} : { actionLoss: Uint8Array.from(t.actionLoss) })
})

/** An episode as it crosses processes: `Rollout.Episode`, its tokens only when the wave asked for them. */
export const EpisodeRecord = Schema.Struct({
  taskId: Schema.String,
  trajectory: Trajectory,
  reward: Schema.Number,
  success: Schema.Boolean,
  steps: Schema.Int,
  termination: Schema.String,
  tokenized: Schema.optionalKey(TrajectoryTokens),
  // with the tokens: per step, the sampled action's log-probs and values (float32 survive JSON exactly)
  logp: Schema.optionalKey(Schema.Array(Schema.Array(Schema.Number))),
  values: Schema.optionalKey(Schema.Array(Schema.Array(Schema.Number)))
})
export type EpisodeRecord = typeof EpisodeRecord.Type

export const toRecord = (e: Rollout.Episode, tokens = false): EpisodeRecord => ({
  taskId: e.taskId,
  trajectory: e.trajectory,
  reward: e.reward,
  success: e.success,
  steps: e.steps,
  termination: e.termination,
  ...(tokens && e.tokenized !== undefined ? { tokenized: toTokens(e.tokenized) } : {}),
  ...(tokens && e.sampled !== undefined ? { logp: e.sampled.logp.map((x) => Array.from(x)), values: e.sampled.values.map((x) => Array.from(x)) } : {})
})

export const fromRecord = (r: EpisodeRecord): Rollout.Episode => ({
  taskId: r.taskId,
  trajectory: r.trajectory,
  reward: r.reward,
  success: r.success,
  steps: r.steps,
  termination: r.termination as Rollout.Termination,
  tokenized: r.tokenized === undefined ? undefined : fromTokens(r.tokenized),
  ...(r.logp === undefined || r.values === undefined ? {} : { sampled: { logp: r.logp.map((x) => Float32Array.from(x)), values: r.values.map((x) => Float32Array.from(x)) } })
})

/**
 * A batch of StepAgent's inspection (the `sample` stage): k actions of the policy at each expert state, the states
 * given as (trajectory, step) over the batch's trajectories, sampled with the batch's own random stream.
 */
export const SampleUnit = Schema.Struct({
  trajectories: Schema.Array(TrajectoryTokens),
  states: Schema.Array(Schema.Tuple([Schema.Int, Schema.Int])), // [index into trajectories, step]
  k: Schema.Int,
  maxTokens: Schema.Int,
  temperature: Schema.Number,
  stop: Schema.Int,
  seed: Schema.Int
})
export type SampleUnit = typeof SampleUnit.Type

/** `ModelSample.states`' result as it crosses processes (float32 log-probs and values survive JSON exactly). */
export const SamplesRecord = Schema.Struct({
  rows: Schema.Int,
  width: Schema.Int,
  tokens: Schema.Array(Schema.Int),
  lengths: Schema.Array(Schema.Int),
  stopped: Schema.Array(Schema.Int),
  logp: Schema.Array(Schema.Number),
  values: Schema.Array(Schema.Number),
  truncatedTokens: Schema.Int,
  truncatedTurns: Schema.Int
})
export type SamplesRecord = typeof SamplesRecord.Type

/** What `ModelSample.states` returns. */
export type StateSamples = ModelSample.Samples & { readonly truncatedTokens: number; readonly truncatedTurns: number }

export const toSampleUnit = (
  segments: ReadonlyArray<ModelSample.StateRequest>,
  o: { readonly k: number; readonly maxTokens: number; readonly temperature: number; readonly stop: number; readonly seed: number }
): SampleUnit => {
  const { trajectories, indexOf } = interned(segments.map((s) => s.trajectory))
  return { trajectories, states: segments.map((s, n) => [indexOf[n]!, s.step] as const), ...o }
}

/** Each distinct trajectory once (in first-seen order) as it crosses processes, and the index of each input's. */
const interned = (ts: ReadonlyArray<Tokenized.TokenizedTrajectory>) => {
  const index = new Map<Tokenized.TokenizedTrajectory, number>()
  const trajectories: Array<TrajectoryTokens> = []
  const indexOf = ts.map((t) => {
    let i = index.get(t)
    if (i === undefined) {
      i = trajectories.length
      index.set(t, i)
      trajectories.push(toTokens(t))
    }
    return i
  })
  return { trajectories, indexOf }
}

/** The unit's states as `ModelSample.states` takes them. */
export const fromSampleUnit = (u: SampleUnit): Array<ModelSample.StateRequest> => {
  const ts = u.trajectories.map(fromTokens)
  return u.states.map(([i, step]) => ({ trajectory: ts[i]!, step }))
}

export const toSamplesRecord = (s: StateSamples): SamplesRecord => ({
  rows: s.rows, width: s.width, tokens: Array.from(s.tokens), lengths: Array.from(s.lengths), stopped: Array.from(s.stopped), logp: Array.from(s.logp),
  values: Array.from(s.values), truncatedTokens: s.truncatedTokens, truncatedTurns: s.truncatedTurns
})

export const fromSamplesRecord = (r: SamplesRecord): StateSamples => ({
  rows: r.rows, width: r.width, tokens: Int32Array.from(r.tokens), lengths: Int32Array.from(r.lengths), stopped: Uint8Array.from(r.stopped),
  logp: Float32Array.from(r.logp), values: Float32Array.from(r.values), truncatedTokens: r.truncatedTokens, truncatedTurns: r.truncatedTurns
})

/**
 * A batch of step-reward scoring (StepAgent's reflection): one number per (state, action) request, the states given as
 * (trajectory, step) over the batch's trajectories and each action as its tokens (absent: the expert's own action).
 * `head` says which number: `logp` the model's summed log-probability of the action (the implicit reward's π_φ and
 * π_ref), `tokenLogp` its per-token log-probabilities (π_ref's, which PPO's KL penalty reuses), `discriminator`
 * -log D(s, a) of a discriminator (the inverse reward). Deterministic: no random stream.
 */
export const ScoreHead = Schema.Literals(["logp", "tokenLogp", "discriminator"])
export type ScoreHead = typeof ScoreHead.Type

export const ScoreUnit = Schema.Struct({
  trajectories: Schema.Array(TrajectoryTokens),
  requests: Schema.Array(Schema.Struct({ trajectory: Schema.Int, step: Schema.Int, action: Schema.optionalKey(Schema.Array(Schema.Int)) })),
  head: ScoreHead,
  maxTokens: Schema.Int // padded tokens per forward pass, as in the stage's config
})
export type ScoreUnit = typeof ScoreUnit.Type

/** A score unit's numbers in request order (float32 values survive JSON exactly). */
export const ScoresRecord = Schema.Struct({ scores: Schema.Array(Schema.Number) })
export type ScoresRecord = typeof ScoresRecord.Type

export const toScoreUnit = (requests: ReadonlyArray<Packed.Request>, head: ScoreHead, maxTokens: number): ScoreUnit => {
  const { trajectories, indexOf } = interned(requests.map((r) => r.trajectory))
  const out = requests.map((r, n) => {
    const at = { trajectory: indexOf[n]!, step: r.step }
    return r.action === undefined ? at : { ...at, action: Array.from(r.action) }
  })
  return { trajectories, requests: out, head, maxTokens }
}

/** The unit's requests as `Packed.pack` takes them (one trajectory object per trajectory: packing groups by it). */
export const fromScoreUnit = (u: ScoreUnit): Array<Packed.Request> => {
  const ts = u.trajectories.map(fromTokens)
  return u.requests.map((r) => {
    const at = { trajectory: ts[r.trajectory]!, step: r.step }
    return r.action === undefined ? at : { ...at, action: Int32Array.from(r.action) }
  })
}

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
  /**
   * A sampling batch's actions, run by a worker with exactly this policy's weights; absent: the stage samples in its
   * own process (local compute threads take waves only: src/cluster/ThreadDispatcher.ts).
   */
  readonly samples?: (unit: SampleUnit, policy: Policy) => Effect.Effect<StateSamples, DispatchError>
  /**
   * Large sampling batches, each worth a round trip and a policy snapshot (the action accuracy's greedy chunks); absent:
   * `samples`, if present. Local compute threads take these only.
   */
  readonly bulkSamples?: (unit: SampleUnit, policy: Policy) => Effect.Effect<StateSamples, DispatchError>
  /** A scoring batch's numbers in request order, computed by a worker with exactly this model's weights; absent: in the stage's process. */
  readonly scores?: (unit: ScoreUnit, model: Policy) => Effect.Effect<Float32Array, DispatchError>
}>()("stepagent/Dispatcher") {}

/**
 * One wave's episodes: in this process, or, for the model policy when a `Dispatcher` is present and the environment
 * says how to open it (`Env.spec`), on a worker. Both run `Rollout.run` on the same tasks with the same random stream
 * and the same weights, so they give the same episodes (with `tokens`, the same tokens too).
 */
export const wave = (a: Rollout.Actor, ids: ReadonlyArray<string>, maxSteps: number | null, seed: number, tokens = false) =>
  Effect.gen(function*() {
    const dispatcher = yield* Effect.serviceOption(Dispatcher)
    const env = yield* Env
    if (a.kind !== "model" || Option.isNone(dispatcher) || env.spec === undefined) return yield* Rollout.run(a, ids, Rng.make(seed), maxSteps)
    const unit: Wave = { taskIds: ids, seed, maxSteps, maxTokens: a.maxTokens, temperature: a.temperature, env: env.spec, ...(tokens ? { tokens } : {}) }
    return yield* dispatcher.value.episodes(unit, { model: a.model, tokenizer: a.tokenizer })
  })
