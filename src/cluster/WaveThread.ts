import { Cause, Effect, Exit, Layer, ManagedRuntime, Schema } from "effect"
import type { SqlClient } from "effect/sql"
import { parentPort, workerData } from "node:worker_threads"
import * as Backend from "../model/backend/Backend.ts"
import type * as BackendOptions from "../model/backend/BackendOptions.ts"
import { SampleUnit, ScoreUnit, Wave } from "../stages/Dispatcher.ts"
import * as Cluster from "./Cluster.ts"
import * as WaveWork from "./WaveWork.ts"

/**
 * The thread a worker computes in (src/cluster/ComputeThread.ts starts it): its own tensor backend, PostgreSQL
 * client and `WaveWork`. Kept apart from the thread that speaks for the worker in the cluster, whose shard locks
 * must be refreshed every few seconds: a unit's batched sampling holds its thread for seconds at a time.
 * Messages in: `{id, wave, policy}` (episodes), `{id, unit, policy}` (samples) or `{id, scoring, policy}` (scores); out: `{id, records}` (the result) or
 * `{id, error}` (one line), or `{ready}` / `{fatal}` once.
 */
export interface Data {
  readonly url: string
  readonly backend: BackendOptions.Options
}

export type Reply =
  | { readonly _tag: "ready"; readonly backend: string; readonly numerics: string }
  | { readonly _tag: "fatal"; readonly message: string }
  | { readonly _tag: "done"; readonly id: number; readonly records: unknown }
  | { readonly _tag: "failed"; readonly id: number; readonly message: string }

const Request = Schema.Union([
  Schema.Struct({ id: Schema.Int, wave: Wave, policy: Schema.String }),
  Schema.Struct({ id: Schema.Int, unit: SampleUnit, policy: Schema.String }),
  Schema.Struct({ id: Schema.Int, scoring: ScoreUnit, policy: Schema.String })
])

const port = parentPort
if (port !== null) {
  const data = workerData as Data
  const runtime = ManagedRuntime.make(Layer.mergeAll(Backend.layer(data.backend), Cluster.pg(data.url)))
  const post = (r: Reply) => port.postMessage(r)
  const start = Effect.gen(function*() {
    const backend = yield* Backend.Backend
    const work = yield* WaveWork.make
    post({ _tag: "ready", backend: Backend.describe(backend), numerics: Backend.numericsKey(backend) })
    return work
  })
  runtime.runPromiseExit(start).then((exit) => {
    if (Exit.isFailure(exit)) return post({ _tag: "fatal", message: messageOf(exit.cause) })
    const work = exit.value
    port.on("message", (m: unknown) => {
      const request = Schema.decodeUnknownExit(Request)(m)
      if (Exit.isFailure(request)) return post({ _tag: "failed", id: typeof m === "object" && m !== null && "id" in m ? Number(m.id) : -1, message: "not a unit" })
      const r = request.value
      const id = r.id
      const job: Effect.Effect<unknown, WaveWork.Failure, SqlClient.SqlClient> = "wave" in r
        ? work.episodes(r.wave, r.policy)
        : "unit" in r
        ? work.samples(r.unit, r.policy)
        : work.scores(r.scoring, r.policy)
      void runtime.runPromiseExit(job).then((done) =>
        post(Exit.isSuccess(done) ? { _tag: "done", id, records: done.value } : { _tag: "failed", id, message: messageOf(done.cause) })
      )
    })
  })
}

const messageOf = (cause: Cause.Cause<WaveWork.Failure>): string => {
  const reason = cause.reasons[0]
  if (reason === undefined) return "failed"
  if (Cause.isFailReason(reason)) return reason.error.message
  if (Cause.isDieReason(reason)) return (reason.defect instanceof Error ? reason.defect.message : String(reason.defect)).split("\n")[0]!
  return "interrupted"
}
