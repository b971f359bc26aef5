import { Effect, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import type * as PolicySnapshot from "../model/PolicySnapshot.ts"
import { DispatchError } from "../stages/Dispatcher.ts"

/**
 * Policy versions in the cluster's PostgreSQL, by content hash: the learner publishes each version once
 * (`put`: a no-op when the hash is there), a worker fetches a version the first time a unit names it (`get`) and
 * caches it. One table, `stepagent_policies (hash, bytes, created)`; a policy of the qa runs' `small` model is 8.4 MB of bytea.
 * Through the database because every worker already reaches it: no shared file system and no learner port.
 */
export const table = "stepagent_policies"

export const ensureTable = Effect.fn("PolicyStore.ensureTable")(function*() {
  const sql = yield* SqlClient.SqlClient
  // CREATE TABLE IF NOT EXISTS is not safe from two sessions at once (workers starting together on a fresh
  // database): one at a time, under a transaction-scoped advisory lock
  yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(${createLock})`
    yield* sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (hash text PRIMARY KEY, bytes bytea NOT NULL, created timestamptz NOT NULL DEFAULT now())`
  }))
})

/** The advisory lock key of the table's creation (any constant no other code of the database uses). */
const createLock = 740_691_302

/** Publishes a snapshot under its hash (idempotent: equal hashes are equal bytes). */
export const put = Effect.fn("PolicyStore.put")(function*(snapshot: PolicySnapshot.Snapshot) {
  const sql = yield* SqlClient.SqlClient
  yield* sql`INSERT INTO ${sql(table)} (hash, bytes) VALUES (${snapshot.hash}, ${snapshot.bytes}) ON CONFLICT (hash) DO NOTHING`
})

/** The bytes published under `hash`, or undefined when no learner published it. */
export const get = Effect.fn("PolicyStore.get")(function*(hash: string) {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly bytes: Uint8Array }>`SELECT bytes FROM ${sql(table)} WHERE hash = ${hash}`
  return rows[0]?.bytes
})

/**
 * A worker's read of a version a unit names (`WaveWork.Fetch`): PostgreSQL briefly away (a restart) is waited for
 * rather than failing the unit, as the cluster itself does; a version nobody published fails the unit with one line.
 */
export const fetch = (hash: string): Effect.Effect<Uint8Array, DispatchError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const failed = (message: string) => new DispatchError({ reason: "Failed", message: `policy ${hash.slice(0, 12)}${message}` })
    const bytes = yield* get(hash).pipe(
      Effect.retry({ schedule: Schedule.spaced("1 second"), times: 120 }),
      Effect.mapError((e) => failed(`: cannot read it from PostgreSQL: ${e.message}`))
    )
    if (bytes === undefined) return yield* failed(` is not published in PostgreSQL (${table})`)
    return bytes
  })
