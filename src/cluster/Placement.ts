import { Clock, Effect, HashRing, Option, Schema } from "effect"
import { Runner, type RunnerAddress } from "effect/cluster"
import { SqlClient } from "effect/sql"

/**
 * Which worker a unit lands on. The cluster puts an entity on the shard its id hashes to, and a shard on a worker
 * by a hash ring over the healthy workers: units with random ids land unevenly (12 units on 2 workers split 7/5
 * as often as not, and the slower worker sets the pace). The learner reproduces that mapping (the workers from
 * the runners table, the ring, the id hash: effect 4.1.0's, pinned) and picks for each unit an entity id whose
 * shard belongs to the worker with the fewest units in flight. Placement only balances: a unit gives the same
 * result on any worker, so a stale or wrong picture of the cluster costs time, never correctness.
 */

/** The cluster's shards a group (ShardingConfig.shardsPerGroup's default, which stepagent keeps). */
export const shards = 300

/** effect/cluster's entity-id hash (internal/hash.ts of effect 4.1.0): shard = |hash % shards| + 1. */
const hashString = (s: string): number => {
  let h = 5381
  let i = s.length
  while (i) h = (h * 33) ^ s.charCodeAt(--i)
  return (h & 0xbfffffff) | ((h >>> 1) & 0x40000000)
}

export const shardOf = (entityId: string): number => Math.abs(hashString(entityId) % shards) + 1

/** Shard id (1-based) -> the address of its worker, as `string` (`host:port`), for these workers. */
export const owners = (runners: ReadonlyArray<Runner.Runner>): ReadonlyArray<string> => {
  const ring = HashRing.make<RunnerAddress.RunnerAddress>()
  for (const r of runners) HashRing.add(ring, r.address, { weight: r.weight })
  const assigned = HashRing.getShards(ring, shards)
  return assigned === undefined ? [] : ["", ...assigned.map((a) => a.toString())]
}

const decodeRunner = Schema.decodeUnknownOption(Schema.fromJsonString(Runner.Runner))

/**
 * The healthy workers of the cluster, from the runners table: those whose heartbeat is within `freshSeconds` of the
 * latest one (relative to each other, so that no clock or time zone comes in).
 */
export const healthyRunners = (freshSeconds: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly runner: string }>`SELECT runner FROM cluster_runners WHERE healthy AND last_heartbeat > (SELECT max(last_heartbeat) FROM cluster_runners) - make_interval(secs => ${freshSeconds})`
    const out: Array<Runner.Runner> = []
    // a row another version wrote is left out of the picture (placement only balances)
    for (const row of rows) Option.map(decodeRunner(row.runner), (r) => out.push(r))
    return out
  })

/**
 * An entity id for the unit `key` on the worker among `owners` with the least `load` (ties: the first in address
 * order): `key`, else `key/1`, `key/2`, ... (a few tries reach any of 300 shards' owners). Without workers: `key`.
 */
export const entityIdFor = (key: string, owner: ReadonlyArray<string>, load: ReadonlyMap<string, number>): { readonly id: string; readonly worker: string | undefined } => {
  const workers = [...new Set(owner.slice(1))].sort()
  if (workers.length === 0) return { id: key, worker: undefined }
  const target = workers.reduce((best, w) => (load.get(w) ?? 0) < (load.get(best) ?? 0) ? w : best, workers[0]!)
  for (let n = 0; n < 64 * workers.length; n++) {
    const id = n === 0 ? key : `${key}/${n}`
    if (owner[shardOf(id)] === target) return { id, worker: target }
  }
  return { id: key, worker: owner[shardOf(key)] }
}

/**
 * The learner's placer: the workers' shards re-read at most every 2 s, the units in flight on each. `place` picks a
 * unit's entity id and counts it on its worker; `done` (when its reply came, or it failed) uncounts it.
 */
export const makePlacer = (sql: SqlClient.SqlClient) =>
  Effect.sync(() => {
    const load = new Map<string, number>()
    let cached: { readonly at: number; readonly owner: ReadonlyArray<string> } = { at: -Infinity, owner: [] }
    const ownerNow = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (now - cached.at < 2000) return cached.owner
      const runners = yield* healthyRunners(10).pipe(Effect.provideService(SqlClient.SqlClient, sql), Effect.orElseSucceed((): ReadonlyArray<Runner.Runner> => []))
      cached = { at: now, owner: owners(runners) }
      return cached.owner
    })
    const place = (key: string) =>
      Effect.map(ownerNow, (owner) => {
        const p = entityIdFor(key, owner, load)
        const worker = p.worker ?? ""
        load.set(worker, (load.get(worker) ?? 0) + 1)
        return { id: p.id, done: Effect.sync(() => void load.set(worker, (load.get(worker) ?? 1) - 1)) }
      }).pipe(Effect.withSpan("Placement.place"))
    return { place }
  })
