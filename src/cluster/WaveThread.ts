import { Cause, Effect, Exit, Layer, ManagedRuntime, Schema } from "effect"
import { type MessagePort, parentPort, workerData } from "node:worker_threads"
import * as Failpoint from "../fault/Failpoint.ts"
import * as Backend from "../model/backend/Backend.ts"
import type * as BackendOptions from "../model/backend/BackendOptions.ts"
import * as TfjsInit from "../model/backend/TfjsInit.ts"
import { DispatchError, SampleUnit, ScoreUnit, Wave } from "../stages/Dispatcher.ts"
import * as Cluster from "./Cluster.ts"
import * as PolicyStore from "./PolicyStore.ts"
import * as WaveWork from "./WaveWork.ts"

/**
 * The thread a worker computes in (src/cluster/ComputeThread.ts starts it): its own tensor backend and `WaveWork`.
 * Kept apart from the thread that speaks for the worker in the cluster, whose shard locks must be refreshed every few
 * seconds: a unit's batched sampling holds its thread for seconds at a time. With a cluster `url` it reads policies
 * from PostgreSQL; without one (a local compute thread of src/cluster/ThreadDispatcher.ts) a unit's message carries
 * its policy's snapshot `bytes`, kept until the version is decoded.
 * Messages in: `{id, wave, policy, bytes?}` (episodes), `{id, unit, policy, bytes?}` (samples) or `{id, scoring,
 * policy, bytes?}` (scores); out: `{id, records}` (the result) or `{id, error}` (one line), or `{ready}` / `{fatal}` once.
 */
export interface Data {
  readonly url?: string | undefined
  readonly backend: BackendOptions.Options
  /** Log the backend chosen (a worker process does; the learner's local threads run the learner's own). */
  readonly quiet?: boolean | undefined
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

/** Snapshot bytes that came with units, by hash, until `WaveWork` has decoded them (a few versions at most). */
const received = new Map<string, Uint8Array>()
const receivedKept = 8

const fromMessages = (hash: string): Effect.Effect<Uint8Array, DispatchError> => {
  const bytes = received.get(hash)
  return bytes === undefined
    ? Effect.fail(new DispatchError({ reason: "Failed", message: `policy ${hash.slice(0, 12)} did not come with the unit` }))
    : Effect.succeed(bytes)
}

const serve = <R>(port: MessagePort, runtime: ManagedRuntime.ManagedRuntime<Backend.Backend | R, unknown>, fetch: WaveWork.Fetch<R>) => {
  const post = (r: Reply) => port.postMessage(r)
  const start = Effect.gen(function*() {
    const backend = yield* Backend.Backend
    const work = yield* WaveWork.make(fetch)
    post({ _tag: "ready", backend: Backend.describe(backend), numerics: Backend.numericsKey(backend) })
    return work
  })
  runtime.runPromiseExit(start).then((exit) => {
    if (Exit.isFailure(exit)) return post({ _tag: "fatal", message: messageOf(exit.cause) })
    const work = exit.value
    port.on("message", (m: unknown) => {
      if (Failpoint.due("wave.thread")) process.exit(70) // in a worker thread: ends the thread, as a crash would
      const bytes = typeof m === "object" && m !== null && "bytes" in m && m.bytes instanceof Uint8Array ? m.bytes : undefined
      const request = Schema.decodeUnknownExit(Request)(m)
      if (Exit.isFailure(request)) return post({ _tag: "failed", id: typeof m === "object" && m !== null && "id" in m ? Number(m.id) : -1, message: "not a unit" })
      const r = request.value
      const id = r.id
      if (bytes !== undefined && !received.has(r.policy)) {
        received.set(r.policy, bytes)
        for (const old of received.keys()) if (received.size > receivedKept) received.delete(old)
      }
      const job: Effect.Effect<unknown, WaveWork.Failure, R> = "wave" in r
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

const port = parentPort
if (port !== null) {
  const data = workerData as Data
  const backend = data.quiet === true ? Layer.effect(Backend.Backend, TfjsInit.initialise(data.backend, {})) : Backend.layer(data.backend)
  if (data.url === undefined) serve(port, ManagedRuntime.make(backend), fromMessages)
  else serve(port, ManagedRuntime.make(Layer.mergeAll(backend, Cluster.pg(data.url))), PolicyStore.fetch)
}

const messageOf = (cause: Cause.Cause<unknown>): string => {
  const reason = cause.reasons[0]
  if (reason === undefined) return "failed"
  if (Cause.isFailReason(reason)) {
    const e = reason.error
    return typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" ? e.message : String(e)
  }
  if (Cause.isDieReason(reason)) return (reason.defect instanceof Error ? reason.defect.message : String(reason.defect)).split("\n")[0]!
  return "interrupted"
}
