import { Effect, Layer, ManagedRuntime, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import * as crypto from "node:crypto"
import * as Cluster from "./Cluster.ts"
import * as Placement from "./Placement.ts"
import { type CliResult, Work } from "./WorkEntity.ts"

/**
 * Whole stepagent commands on the cluster's workers, for plain scripts (pipelines/paper-table.ts `--cluster`):
 * `open(url)` joins the cluster as a client; `run(argv, cwd)` has a worker run `stepagent <argv>` (one command at a
 * time per worker, spread by placement) and resolves with its exit and stdout. A command that the cluster
 * refuses is resent (the same key: run once); `close` leaves the cluster.
 */
export interface Commands {
  readonly run: (argv: ReadonlyArray<string>, cwd: string) => Promise<CliResult>
  readonly close: () => Promise<void>
}

/** Resends of a command the cluster refused, a second apart (a worker's shards moving, PostgreSQL restarting). */
const retries = 300

export const open = async (url: string): Promise<Commands> => {
  const bad = Cluster.urlProblem(url)
  if (bad !== undefined) throw new Error(`--cluster ${bad}`)
  await Effect.runPromise(Cluster.checkReachable(url))
  const runtime = ManagedRuntime.make(Layer.mergeAll(Cluster.client(url), Cluster.pg(url)))
  const session = crypto.randomUUID()
  const placer = await runtime.runPromise(Effect.flatMap(SqlClient.SqlClient, Placement.makePlacer))
  let n = 0
  const run = (argv: ReadonlyArray<string>, cwd: string) =>
    runtime.runPromise(Effect.gen(function*() {
      const clientOf = yield* Work.client
      const key = crypto.createHash("sha256").update(JSON.stringify({ session, n: n++, argv, cwd })).digest("hex")
      return yield* Effect.acquireUseRelease(
        placer.place(key),
        (place) => clientOf(place.id).cli({ key, argv, cwd }).pipe(Effect.retry({ schedule: Schedule.spaced("1 second"), times: retries })),
        (place) => place.done
      )
    }))
  return { run, close: () => runtime.dispose() }
}
