import { Clock, Effect } from "effect"

/**
 * A synchronous compute block (tensor work and the typed-array maths around it) run as one Effect, with
 * its duration from the Effect clock: the `timing/<stage>_s` metrics and the benchmark's split between
 * tensor work and stream overhead. Tensors never leave `f`.
 */
export const sync = <A>(f: () => A): Effect.Effect<{ readonly value: A; readonly seconds: number }> => effect(Effect.sync(f))

/** The same for work done elsewhere (a unit on a cluster worker): its wall time as seen from here. */
export const effect = <A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<{ readonly value: A; readonly seconds: number }, E, R> =>
  Effect.gen(function*() {
    const t0 = yield* Clock.currentTimeNanos
    const value = yield* work
    const t1 = yield* Clock.currentTimeNanos
    return { value, seconds: Number(t1 - t0) / 1e9 }
  })
