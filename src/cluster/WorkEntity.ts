import { Schema } from "effect"
import { ClusterSchema, Entity } from "effect/cluster"
import { Rpc } from "effect/rpc"
import { DispatchError, EpisodeRecord, Wave } from "../stages/Dispatcher.ts"

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
    policy: Schema.String // the policy version's content hash (src/model/PolicySnapshot.ts)
  },
  success: Schema.Array(EpisodeRecord),
  error: DispatchError,
  primaryKey: (p) => p.key
})

export const Work = Entity.make("StepagentWork", [Episodes])
  .annotateRpcs(ClusterSchema.Persisted, true)
  // a learner that stops waiting (Ctrl-C) does not interrupt the unit: an interrupt would be stored as the key's reply
  .annotateRpcs(ClusterSchema.Uninterruptible, "client")
