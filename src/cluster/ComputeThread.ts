import { Deferred, Effect, Schema } from "effect"
import { Worker } from "node:worker_threads"
import type * as BackendOptions from "../model/backend/BackendOptions.ts"
import { DispatchError, EpisodeRecord, SamplesRecord, type SampleUnit, ScoresRecord, type ScoreUnit, type Wave } from "../stages/Dispatcher.ts"
import type * as WaveThread from "./WaveThread.ts"

/**
 * A worker's compute thread (src/cluster/WaveThread.ts), seen from the thread that speaks for the worker in the
 * cluster: `episodes` sends a unit and waits for its records. Units queue in the thread and run one at a time.
 * The thread lives as long as the scope. If it dies, `dead` completes and the waiting units are left unanswered:
 * the worker then exits as if killed (src/cli/WorkerCommand.ts), so that their requests, still unprocessed in
 * PostgreSQL, go to other workers (a failure reply would be stored as the unit's answer for good).
 */
export interface ComputeThread {
  readonly backend: string // Backend.describe
  readonly numerics: string // Backend.numericsKey
  /** `bytes`: the policy's snapshot, for a thread without a cluster to read it from (sent along, copied). */
  readonly episodes: (wave: Wave, policy: string, bytes?: Uint8Array) => Effect.Effect<ReadonlyArray<EpisodeRecord>, DispatchError>
  readonly samples: (unit: SampleUnit, policy: string, bytes?: Uint8Array) => Effect.Effect<SamplesRecord, DispatchError>
  readonly scores: (unit: ScoreUnit, policy: string, bytes?: Uint8Array) => Effect.Effect<ScoresRecord, DispatchError>
  /** Completes with the reason when the thread dies. */
  readonly dead: Effect.Effect<string>
}

const Records = Schema.Array(EpisodeRecord)

/** How each kind of job's result is checked when it comes back from the thread. */
type Decode = (u: unknown) => Effect.Effect<unknown, DispatchError>
const decoder = <A>(schema: Schema.Codec<A>): Decode => (u) =>
  Effect.mapError(Schema.decodeUnknownEffect(schema)(u), () => new DispatchError({ reason: "Failed", message: "compute thread: a result of the wrong shape" }))

export const make = (options: WaveThread.Data) =>
  Effect.gen(function*() {
    const pending = new Map<number, { readonly deferred: Deferred.Deferred<unknown, DispatchError>; readonly decode: Decode }>()
    const ready = yield* Deferred.make<{ readonly backend: string; readonly numerics: string }, DispatchError>()
    const dead = yield* Deferred.make<string>()
    let next = 0
    const thread = yield* Effect.acquireRelease(
      Effect.sync(() => new Worker(new URL("./WaveThread.ts", import.meta.url), { workerData: options })),
      (t) => Effect.promise(() => t.terminate())
    )
    const die = (why: string) => {
      Deferred.doneUnsafe(ready, Effect.fail(new DispatchError({ reason: "Failed", message: `compute thread: ${why}` })))
      Deferred.doneUnsafe(dead, Effect.succeed(why))
    }
    thread.on("message", (r: WaveThread.Reply) => {
      switch (r._tag) {
        case "ready":
          return Deferred.doneUnsafe(ready, Effect.succeed({ backend: r.backend, numerics: r.numerics }))
        case "fatal":
          return die(r.message)
        case "done":
        case "failed": {
          const p = pending.get(r.id)
          if (p === undefined) return
          pending.delete(r.id)
          if (r._tag === "failed") return Deferred.doneUnsafe(p.deferred, Effect.fail(new DispatchError({ reason: "Failed", message: r.message })))
          return Deferred.doneUnsafe(p.deferred, p.decode(r.records))
        }
      }
    })
    thread.on("error", (e) => die(e.message.split("\n")[0]!))
    thread.on("exit", (code) => die(`exited (${code})`))
    const { backend, numerics } = yield* Deferred.await(ready)
    const job = <A>(message: Record<string, unknown>, decode: Decode) =>
      Effect.suspend(() => {
        const id = next++
        const deferred = Deferred.makeUnsafe<unknown, DispatchError>()
        pending.set(id, { deferred, decode })
        thread.postMessage({ id, ...message })
        return Deferred.await(deferred) as Effect.Effect<A, DispatchError>
      })
    const decodeRecords = decoder(Records)
    const decodeSamples = decoder(SamplesRecord)
    const decodeScores = decoder(ScoresRecord)
    return {
      backend,
      numerics,
      episodes: (wave, policy, bytes) => job<ReadonlyArray<EpisodeRecord>>({ wave, policy, ...(bytes === undefined ? {} : { bytes }) }, decodeRecords),
      samples: (unit, policy, bytes) => job<SamplesRecord>({ unit, policy, ...(bytes === undefined ? {} : { bytes }) }, decodeSamples),
      scores: (scoring, policy, bytes) => job<ScoresRecord>({ scoring, policy, ...(bytes === undefined ? {} : { bytes }) }, decodeScores),
      dead: Deferred.await(dead)
    } satisfies ComputeThread
  })

export type Options = BackendOptions.Options
