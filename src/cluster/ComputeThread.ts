import { Deferred, Effect, Schema } from "effect"
import { Worker } from "node:worker_threads"
import type * as BackendOptions from "../model/backend/BackendOptions.ts"
import { DispatchError, EpisodeRecord, type Wave } from "../stages/Dispatcher.ts"
import type * as WaveThread from "./WaveThread.ts"

/**
 * A worker's compute thread (src/cluster/WaveThread.ts), seen from the thread that speaks for the worker in the
 * cluster: `episodes` sends a unit and waits for its records. Units queue in the thread and run one at a time.
 * The thread lives as long as the scope; if it dies, every waiting unit fails and so does the worker (`dead`), so
 * that its units go to other workers.
 */
export interface ComputeThread {
  readonly backend: string
  readonly episodes: (wave: Wave, policy: string) => Effect.Effect<ReadonlyArray<EpisodeRecord>, DispatchError>
  /** Completes with the reason when the thread dies. */
  readonly dead: Effect.Effect<string>
}

const Records = Schema.Array(EpisodeRecord)

export const make = (options: WaveThread.Data) =>
  Effect.gen(function*() {
    const pending = new Map<number, Deferred.Deferred<ReadonlyArray<EpisodeRecord>, DispatchError>>()
    const ready = yield* Deferred.make<string, DispatchError>()
    const dead = yield* Deferred.make<string>()
    let next = 0
    const thread = yield* Effect.acquireRelease(
      Effect.sync(() => new Worker(new URL("./WaveThread.ts", import.meta.url), { workerData: options })),
      (t) => Effect.promise(() => t.terminate())
    )
    const die = (why: string) => {
      const e = new DispatchError({ reason: "Failed", message: `compute thread: ${why}` })
      Deferred.doneUnsafe(ready, Effect.fail(e))
      Deferred.doneUnsafe(dead, Effect.succeed(why))
      for (const d of pending.values()) Deferred.doneUnsafe(d, Effect.fail(e))
      pending.clear()
    }
    thread.on("message", (r: WaveThread.Reply) => {
      switch (r._tag) {
        case "ready":
          return Deferred.doneUnsafe(ready, Effect.succeed(r.backend))
        case "fatal":
          return die(r.message)
        case "done":
        case "failed": {
          const d = pending.get(r.id)
          if (d === undefined) return
          pending.delete(r.id)
          if (r._tag === "failed") return Deferred.doneUnsafe(d, Effect.fail(new DispatchError({ reason: "Failed", message: r.message })))
          const records = Schema.decodeUnknownExit(Records)(r.records)
          return Deferred.doneUnsafe(d, records._tag === "Success" ? Effect.succeed(records.value) : Effect.fail(new DispatchError({ reason: "Failed", message: "compute thread: records that are not episodes" })))
        }
      }
    })
    thread.on("error", (e) => die(e.message.split("\n")[0]!))
    thread.on("exit", (code) => die(`exited (${code})`))
    const backend = yield* Deferred.await(ready)
    const episodes = (wave: Wave, policy: string) =>
      Effect.suspend(() => {
        const id = next++
        const d = Deferred.makeUnsafe<ReadonlyArray<EpisodeRecord>, DispatchError>()
        pending.set(id, d)
        thread.postMessage({ id, wave, policy })
        return Deferred.await(d)
      })
    return { backend, episodes, dead: Deferred.await(dead) } satisfies ComputeThread
  })

export type Options = BackendOptions.Options
