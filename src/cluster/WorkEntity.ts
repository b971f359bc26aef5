import { Schema } from "effect"
import { ClusterSchema, Entity } from "effect/cluster"
import { Rpc } from "effect/rpc"
import { DispatchError, EpisodeRecord, SampleUnit, SamplesRecord, ScoresRecord, ScoreUnit, Wave } from "../stages/Dispatcher.ts"

/**
 * The work a cluster worker hosts (docs/scale-out.md). Every unit is addressed by its key: the entity id (which
 * spreads units over shards, so over workers) and the message's primary key (PostgreSQL's message storage keeps
 * one request and one reply per key: a unit sent twice runs once). Messages are persisted: when a worker dies,
 * the worker that takes over its shards finds the unit's request in PostgreSQL and runs it.
 */
export const Episodes = Rpc.make("episodes", {
  payload: {
    key: Schema.String, // sha256 of the learner's session, the wave and the policy hash
    wave: Wave,
    policy: Schema.String, // the policy version's content hash (src/model/PolicySnapshot.ts)
    backend: Schema.String // the learner's `Backend.numericsKey`: a worker computing otherwise refuses the unit
  },
  success: Schema.Array(EpisodeRecord),
  error: DispatchError,
  primaryKey: (p) => p.key
})

/** A sampling batch of StepAgent's inspection (or step DPO's): the policy's actions at expert states. */
export const Samples = Rpc.make("samples", {
  payload: {
    key: Schema.String, // sha256 of the learner's session, the unit and the policy hash
    unit: SampleUnit,
    policy: Schema.String,
    backend: Schema.String
  },
  success: SamplesRecord,
  error: DispatchError,
  primaryKey: (p) => p.key
})

/** A scoring batch of StepAgent's reflection: a frozen model's numbers (log-probs, or -log D) of actions at expert states. */
export const Scores = Rpc.make("scores", {
  payload: {
    key: Schema.String, // sha256 of the learner's session, the unit and the model's hash
    unit: ScoreUnit,
    policy: Schema.String, // the scoring model's content hash (a reward model or discriminator is published as a policy is)
    backend: Schema.String
  },
  success: ScoresRecord,
  error: DispatchError,
  primaryKey: (p) => p.key
})

/**
 * A whole stepagent command on a worker (`npm run paper-table -- --cluster`: every run of the table is one): the
 * worker runs `stepagent <argv>` from its own install, in `cwd`, one at a time, and answers with its exit and stdout.
 * Paths in `argv` must mean the same on the worker (one machine, or a shared file system).
 */
export const CliResult = Schema.Struct({
  code: Schema.NullOr(Schema.Int),
  signal: Schema.NullOr(Schema.String),
  stdout: Schema.String,
  worker: Schema.String // where it ran (host:port), for the learner's log
})
export type CliResult = typeof CliResult.Type

export const Cli = Rpc.make("cli", {
  payload: {
    key: Schema.String, // sha256 of the learner's session and the command
    argv: Schema.Array(Schema.String),
    cwd: Schema.String
  },
  success: CliResult,
  primaryKey: (p) => p.key
})

export const Work = Entity.make("StepagentWork", [Episodes, Samples, Scores, Cli])
  .annotateRpcs(ClusterSchema.Persisted, true)
  // a learner that stops waiting (Ctrl-C) does not interrupt the unit: an interrupt would be stored as the key's reply
  .annotateRpcs(ClusterSchema.Uninterruptible, "client")
