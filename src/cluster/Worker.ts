import { Duration, Effect, Layer } from "effect"
import * as Cluster from "./Cluster.ts"
import type { ComputeThread } from "./ComputeThread.ts"
import { Work } from "./WorkEntity.ts"

/**
 * A worker process's part of the cluster (`stepagent worker`): a socket runner that owns a share of the shards and
 * hands the units addressed to them to its compute thread (src/cluster/ComputeThread.ts), which runs them one at a
 * time. Any number of workers on any hosts.
 */
export interface Options {
  readonly url: string // postgres://USER@HOST:PORT/DB
  readonly advertise: { readonly host: string; readonly port: number } // where other members reach this worker
  readonly listen: { readonly host: string; readonly port: number } // where it listens
}

const handlers = (thread: ComputeThread) =>
  Work.of({
    episodes: ({ payload }) => {
      const unit = `unit ${payload.key.slice(0, 12)} (${payload.wave.taskIds.length} ${payload.wave.env.name} episodes from ${payload.wave.taskIds[0] ?? "-"}, policy ${payload.policy.slice(0, 12)})`
      return Effect.logInfo(`${unit} started`).pipe(
        Effect.andThen(Effect.timed(thread.episodes(payload.wave, payload.policy))),
        Effect.tap(([d]) => Effect.logInfo(`${unit} done in ${Duration.toSeconds(d).toFixed(1)} s`)),
        Effect.map(([, records]) => records),
        Effect.tapError((e) => Effect.logWarning(`${unit} failed: ${e.message}`))
      )
    }
  })

/** The worker: its entity handlers on a socket runner. */
export const layer = (o: Options, thread: ComputeThread) =>
  Work.toLayer(handlers(thread), { maxIdleTime: "10 minutes" }).pipe(Layer.provide(Cluster.runner(o.url, o.advertise, o.listen)))
