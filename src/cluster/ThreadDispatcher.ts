import { Deferred, Effect, Exit, Layer, Queue, Scope } from "effect"
import type * as BackendOptions from "../model/backend/BackendOptions.ts"
import * as PolicySnapshot from "../model/PolicySnapshot.ts"
import { DispatchError, Dispatcher, fromRecord, fromSamplesRecord, type Policy } from "../stages/Dispatcher.ts"
import * as ComputeThread from "./ComputeThread.ts"
import * as WaveWork from "./WaveWork.ts"

/**
 * The `Dispatcher` of a run on training threads (`--train-threads N` above 1, no `--cluster`) or of `eval
 * --eval-threads N`: its waves of episodes (evaluation, outcome-PPO rollouts) run on N local compute threads
 * (src/cluster/WaveThread.ts without a cluster), each with its own one-thread backend of the learner's kind, N waves at
 * once. A wave is computed exactly as in the learner's process (`Rollout.run`, the same tasks, random stream and weights
 * on the same numerics), so its episodes are the same whichever thread ran it and however many there are. Why: the
 * learner's own backend runs on one thread under training threads, so a 200-episode evaluation would leave the other
 * cores idle (qa: 200 episodes 22.7 s on two threads against 32.7 s on one). It takes no sampling or scoring batches
 * (`Dispatcher.samples`/`scores` absent): the stages compute those in the learner's process as without a dispatcher,
 * because on qa a thread's start-up and a policy snapshot per batch cost more than the implicit reward's two scorings at
 * once gained (measured on the quickstart: sampling 1.8 -> 4.3 s, the reward phase 17.7 -> 21.3 s). It does take the
 * action accuracy's greedy batches (`bulkSamples`: a few large ones, the learner's alone took ~16 s of the quickstart). The
 * threads start on the first wave and end with the layer's scope; a wave carries its policy's snapshot
 * (`PolicySnapshot`, ~4.5 MB for `small`), decoded once per version by each thread. A thread that dies is not used
 * again (one warning): its wave, and every wave after, goes to the others or, when none is left, runs in the learner's
 * process, with the same episodes.
 */
export const layer = (threads: number, backend: BackendOptions.Options): Layer.Layer<Dispatcher> =>
  Layer.effect(Dispatcher, Effect.gen(function*() {
    const scope = yield* Effect.scope
    const idle = yield* Queue.unbounded<number>()
    for (let i = 0; i < threads; i++) yield* Queue.offer(idle, i)
    const started = new Map<number, Deferred.Deferred<ComputeThread.ComputeThread, DispatchError>>()
    const dead = new Map<number, string>() // thread -> why
    /** Thread i, started on first use; its death is recorded as soon as it happens. */
    const thread = (i: number) =>
      Effect.gen(function*() {
        const known = started.get(i)
        if (known !== undefined) return yield* Deferred.await(known)
        const d = Deferred.makeUnsafe<ComputeThread.ComputeThread, DispatchError>()
        started.set(i, d)
        const exit = yield* Effect.exit(Scope.provide(scope)(ComputeThread.make({ backend: { ...backend, threads: 1 }, quiet: true })))
        if (Exit.isSuccess(exit)) yield* Effect.forkIn(Effect.flatMap(exit.value.dead, (why) => Effect.sync(() => dead.set(i, why))), scope)
        yield* Deferred.done(d, exit)
        return yield* exit
      })
    /** A unit on thread i: fails with the thread's death if it dies meanwhile (its units are left unanswered then). */
    const onThread = <A>(i: number, run: (t: ComputeThread.ComputeThread) => Effect.Effect<A, DispatchError>) =>
      Effect.flatMap(thread(i), (t) =>
        Effect.raceFirst(
          run(t),
          Effect.flatMap(t.dead, (why) => Effect.andThen(Effect.sync(() => dead.set(i, why)), Effect.fail(new DispatchError({ reason: "Failed", message: why }))))
        ))
    // the learner's own `WaveWork`, for when no thread is left: the same work, in this process
    let atHand: PolicySnapshot.Snapshot | undefined // the unit's own policy: the one `local` may fetch
    let local: Local | undefined
    const inProcess = <A>(snapshot: PolicySnapshot.Snapshot, run: (w: Local, hash: string) => Effect.Effect<A, DispatchError>) =>
      Effect.gen(function*() {
        atHand = snapshot
        local ??= yield* WaveWork.make((hash) =>
          atHand?.hash === hash ? Effect.succeed(atHand.bytes) : Effect.fail(new DispatchError({ reason: "Failed", message: `policy ${hash.slice(0, 12)}: not at hand` }))
        )
        return yield* run(local, snapshot.hash)
      })
    /** A unit with `policy`'s weights: on an idle live thread, else (none left) here. */
    const dispatch = <A>(
      policy: Policy,
      onOne: (t: ComputeThread.ComputeThread, snapshot: PolicySnapshot.Snapshot) => Effect.Effect<A, DispatchError>,
      here: (w: Local, hash: string) => Effect.Effect<A, DispatchError>
    ) =>
      Effect.gen(function*() {
        const snapshot = PolicySnapshot.encode(policy.model, policy.tokenizer.toJSON())
        while (dead.size < threads) {
          const i = yield* Queue.take(idle)
          if (i === wake) {
            // a thread died: when none is left, every unit waiting for one runs here (the token passes on)
            if (dead.size < threads) continue
            yield* Queue.offer(idle, wake)
            break
          }
          const done = yield* Effect.exit(onThread(i, (t) => onOne(t, snapshot)))
          if (!dead.has(i)) {
            yield* Queue.offer(idle, i)
            // the unit itself failed (an environment refused it): another thread would do no better
            return yield* done
          }
          yield* Effect.logWarning(`compute thread ${i + 1} of ${threads} failed (${dead.get(i)}): its waves go to the other threads from now on`)
          yield* Queue.offer(idle, wake)
        }
        return yield* inProcess(snapshot, here)
      })
    return Dispatcher.of({
      describe: `${threads} compute threads`,
      inFlight: threads,
      episodes: (wave, policy) =>
        Effect.map(dispatch(policy, (t, s) => t.episodes(wave, s.hash, s.bytes), (w, hash) => w.episodes(wave, hash)), (records) => records.map(fromRecord)),
      // large greedy batches only (the action accuracy's): worth a snapshot each, unlike a StepAgent iteration's sampling
      bulkSamples: (unit, policy) =>
        Effect.map(dispatch(policy, (t, s) => t.samples(unit, s.hash, s.bytes), (w, hash) => w.samples(unit, hash)), fromSamplesRecord)
    })
  }))

/** The learner's own `WaveWork` (no requirements: its policies come from the waves). */
type Local = Effect.Success<ReturnType<typeof WaveWork.make<never>>>

/** The token a thread's death puts in the idle queue, so that no wave waits for a thread that will not come back. */
const wake = -1
