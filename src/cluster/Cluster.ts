import { NodeClusterSocket } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Cause, Effect, Layer, Option, Redacted, Schema } from "effect"
import { RunnerAddress, type ShardingConfig } from "effect/cluster"
import { SqlClient } from "effect/sql"

/**
 * The cluster's plumbing (docs/scale-out.md): PostgreSQL as runner and message storage (`@effect/sql-pg`), worker
 * processes as socket runners (`NodeClusterSocket`), the learner as a client-only member. Both sides must use the
 * same sharding settings (`shardsPerGroup` above all): they are here, in one place.
 */

/** The cluster could not be used: PostgreSQL unreachable, a URL that is not one. One line. */
export class ClusterError extends Schema.TaggedError<ClusterError>()("ClusterError", {
  message: Schema.String
}) {}

/**
 * Sharding settings. Defaults are the library's except where a worker's death must be noticed sooner: members ping
 * each other every 2 s (default 1 min) and a worker that does not answer loses its shards; a worker whose host
 * vanished loses them when its locks expire (10 s, default 35 s; refreshed every 2 s, default 10 s); assignments and
 * unprocessed persisted messages are polled every second (defaults 3 s and 10 s). These only hold because a worker's
 * units compute in a thread of their own (src/cluster/ComputeThread.ts): a lock refresh that does not answer within
 * its interval interrupts every unit of the worker, and batched sampling holds a thread for seconds.
 */
export const sharding: Partial<ShardingConfig.ShardingConfig["Service"]> = {
  runnerHealthCheckInterval: "2 seconds",
  shardLockRefreshInterval: "2 seconds",
  shardLockExpiration: "10 seconds",
  refreshAssignmentsInterval: "1 second",
  entityMessagePollInterval: "1 second",
  entityReplyPollInterval: "200 millis"
}

/** `postgres://USER@HOST:PORT/DB` with any password masked, for messages. */
export const safeUrl = (url: string): string => url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")

/** Why `url` is not a PostgreSQL URL, or undefined. */
export const urlProblem = (url: string): string | undefined => {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return `${url} is not a URL (postgres://USER@HOST:PORT/DB)`
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") return `${safeUrl(url)} is not a postgres:// URL`
  if (u.pathname.length <= 1) return `${safeUrl(url)} names no database (postgres://USER@HOST:PORT/DB)`
  return undefined
}

/** The PostgreSQL client of a cluster URL (a small pool: storage queries are short). */
export const pg = (url: string) => PgClient.layer({ url: Redacted.make(url), connectTimeout: "5 seconds", maxConnections: 10 })

/** The innermost message of a failure (a driver's error wraps the socket's: `connect ECONNREFUSED 127.0.0.1:1`). */
const rootMessage = (cause: Cause.Cause<unknown>): string => {
  const reason = cause.reasons[0]
  let e: unknown = reason === undefined ? undefined : Cause.isFailReason(reason) ? reason.error : Cause.isDieReason(reason) ? reason.defect : "interrupted"
  if (e === undefined) return "unknown error"
  while (typeof e === "object" && e !== null && "cause" in e && (e as { cause: unknown }).cause !== undefined) e = (e as { cause: unknown }).cause
  if (e instanceof Error || (typeof e === "object" && e !== null && "message" in e)) return String((e as { message: unknown }).message).split("\n")[0]!
  return String(e).split("\n")[0]!
}

/** One query, to fail with one line before the cluster's layers would retry or die with a long cause. */
export const checkReachable = (url: string): Effect.Effect<void, ClusterError> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`SELECT 1`
  }).pipe(
    Effect.timeout("10 seconds"),
    Effect.provide(pg(url)),
    Effect.catchCause((cause) => Effect.fail(new ClusterError({ message: `cannot reach PostgreSQL at ${safeUrl(url)}: ${rootMessage(cause)}` })))
  )

/** A worker's membership: a socket runner listening on `listen`, reachable by the others at `advertise`. */
export const runner = (url: string, advertise: { readonly host: string; readonly port: number }, listen: { readonly host: string; readonly port: number }) =>
  NodeClusterSocket.layer({
    storage: "sql",
    shardingConfig: {
      ...sharding,
      runnerAddress: Option.some(RunnerAddress.make(advertise.host, advertise.port)),
      runnerListenAddress: Option.some(RunnerAddress.make(listen.host, listen.port))
    }
  }).pipe(Layer.provide(pg(url)))

/** The learner's membership: client only (hosts no shards, listens on no port). */
export const client = (url: string) =>
  NodeClusterSocket.layer({ clientOnly: true, storage: "sql", shardingConfig: sharding }).pipe(Layer.provide(pg(url)))
