import { Context, Deferred, Effect, Layer, Option, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import * as crypto from "node:crypto"
import * as Backend from "../model/backend/Backend.ts"
import * as PolicySnapshot from "../model/PolicySnapshot.ts"
import { DispatchError, Dispatcher, fromRecord, fromSamplesRecord, type Policy } from "../stages/Dispatcher.ts"
import * as Cluster from "./Cluster.ts"
import * as Placement from "./Placement.ts"
import * as PolicyStore from "./PolicyStore.ts"
import { Work } from "./WorkEntity.ts"

/**
 * The `Dispatcher` of `--cluster URL`: the learner joins the cluster as a client, publishes each policy version it
 * acts with to PostgreSQL under its content hash, and sends every unit to the worker that owns the unit's shard.
 * A unit's key hashes this session's id, the unit and the policy hash: a unit resent after a failure is the same
 * message (run at most once, its reply kept), and a later run never reads an earlier run's replies. Its entity id
 * (which decides its worker) is picked so that the workers get equal shares (src/cluster/Placement.ts).
 */

/** Units in flight: every worker busy with one and the next one queued, for up to 32 workers at once. */
const inFlight = 64

/** Resends of a unit the cluster refused, a second apart: a PostgreSQL restart or a worker's shards moving takes seconds. */
const retries = 120

export const layer = (url: string): Layer.Layer<Dispatcher, Cluster.ClusterError> =>
  // PostgreSQL checked first: the cluster's own layers die with a long cause when it cannot be reached
  Layer.unwrap(Effect.as(Cluster.checkReachable(url), dispatcher(url)))

const dispatcher = (url: string): Layer.Layer<Dispatcher, Cluster.ClusterError> =>
  Layer.effect(Dispatcher, Effect.gen(function*() {
    // one PostgreSQL pool for the layer's life: publishing policies and reading the runners
    const sql = Context.get(yield* Layer.build(Cluster.pg(url)), SqlClient.SqlClient)
    const withSql = <A, E>(e: Effect.Effect<A, E, SqlClient.SqlClient>) => Effect.provideService(e, SqlClient.SqlClient, sql)
    yield* withSql(PolicyStore.ensureTable()).pipe(
      Effect.mapError((e) => new Cluster.ClusterError({ message: `PostgreSQL at ${Cluster.safeUrl(url)}: cannot create ${PolicyStore.table}: ${e.message}` }))
    )
    const clientOf = yield* Work.client
    const session = crypto.randomUUID()
    // the learner's numerics: a worker that computes otherwise refuses its units (same backend, same numbers)
    const backend = Option.match(yield* Effect.serviceOption(Backend.Backend), { onNone: () => "unknown", onSome: Backend.numericsKey })
    const placer = yield* Placement.makePlacer(sql)
    const unavailable = (what: string) => (e: { readonly message?: string }) =>
      new DispatchError({ reason: "Unavailable", message: `cluster ${Cluster.safeUrl(url)}: ${what}: ${e.message ?? String(e)}` })
    // each version published once: units that find it being published wait for that one upload
    const publishing = new Map<string, Deferred.Deferred<void, DispatchError>>()
    const publish = (snapshot: PolicySnapshot.Snapshot) =>
      Effect.gen(function*() {
        const known = publishing.get(snapshot.hash)
        if (known !== undefined) return yield* Deferred.await(known)
        const done = Deferred.makeUnsafe<void, DispatchError>()
        publishing.set(snapshot.hash, done)
        const exit = yield* withSql(PolicyStore.put(snapshot)).pipe(
          Effect.retry({ schedule: Schedule.spaced("1 second"), times: retries }),
          Effect.mapError(unavailable("cannot publish the policy")),
          Effect.exit
        )
        if (exit._tag === "Failure") publishing.delete(snapshot.hash)
        yield* Deferred.done(done, exit)
        return yield* exit
      })
    /** Publishes the policy (once per version), keys and places the unit, sends it, resends on the cluster's refusals. */
    const send = <A, E extends { readonly _tag: string; readonly message?: string }>(
      policy: Policy,
      unit: unknown,
      call: (client: ReturnType<typeof clientOf>, key: string, hash: string) => Effect.Effect<A, E>
    ) =>
      Effect.gen(function*() {
        const snapshot = PolicySnapshot.encode(policy.model, policy.tokenizer.toJSON())
        yield* publish(snapshot)
        const key = crypto.createHash("sha256").update(JSON.stringify({ session, unit, policy: snapshot.hash })).digest("hex")
        return yield* Effect.acquireUseRelease(
          placer.place(key),
          (place) =>
            call(clientOf(place.id), key, snapshot.hash).pipe(
              // the cluster's own refusals (a full mailbox, a shard between owners, storage briefly away) are retried:
              // the same key and entity id are the same message, so a resend never runs the unit twice
              Effect.retry({ while: (e) => e._tag !== "DispatchError", schedule: Schedule.spaced("1 second"), times: retries }),
              Effect.mapError((e): DispatchError => e instanceof DispatchError ? e : unavailable(`unit ${key.slice(0, 12)}`)(e))
            ),
          (place) => place.done
        )
      }).pipe(Effect.withSpan("ClusterDispatcher.send"))
    return Dispatcher.of({
      describe: `cluster ${Cluster.safeUrl(url)}`,
      inFlight,
      episodes: (wave, policy) =>
        send(policy, { wave }, (client, key, hash) => client.episodes({ key, wave, policy: hash, backend })).pipe(Effect.map((records) => records.map(fromRecord))),
      samples: (unit, policy) =>
        send(policy, { unit }, (client, key, hash) => client.samples({ key, unit, policy: hash, backend })).pipe(Effect.map(fromSamplesRecord)),
      scores: (unit, model) =>
        send(model, { scoring: unit }, (client, key, hash) => client.scores({ key, unit, policy: hash, backend })).pipe(Effect.map((r) => Float32Array.from(r.scores)))
    })
  })).pipe(
    Layer.provide(Cluster.client(url)),
    Layer.catch((e) => Layer.effect(Dispatcher, Effect.fail(e._tag === "ClusterError" ? e : new Cluster.ClusterError({ message: `cluster ${Cluster.safeUrl(url)}: ${e.message}` }))))
  )
