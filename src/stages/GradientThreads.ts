import { Context, Deferred, Effect, Layer } from "effect"
import { Worker } from "node:worker_threads"
import type * as ActionBatch from "../model/ActionBatch.ts"
import type * as BackendOptions from "../model/backend/BackendOptions.ts"
import type * as GradientStep from "../model/GradientStep.ts"
import type * as ModelSample from "../model/Sample.ts"
import type * as SampleParts from "../model/SampleParts.ts"
import type * as ScorePasses from "../model/ScorePasses.ts"
import type * as TrainingPass from "../model/TrainingPass.ts"
import type * as Transformer from "../model/Transformer.ts"
import type * as GradientThread from "./GradientThread.ts"
import { StageError } from "./StageError.ts"

/**
 * Data-parallel training passes on one machine: the passes of an optimizer step are shared between the learner's
 * thread and `threads - 1` helper threads (src/stages/GradientThread.ts), each with its own one-thread tensor
 * backend, and their gradients are summed in pass order on the learner (`GradientStep.takeComputed`). The passes are
 * planned without regard to the thread count (`Microbatch.plan`'s `minPasses`), and each pass's gradient is the same
 * on any thread of the same backend, so a step's update is the same to the bit on 1 thread or several. Why: on a
 * small model the wasm backend's own threads (XNNPACK, OpenBLAS) split each multiply and gain ~1.1-1.4x on 2 cores;
 * two passes on two threads keep both cores busy for the whole pass. Helpers start on first use (~1 s) and end with
 * the layer's scope. Without this service (or with `threads` 1) every pass runs on the learner's thread. A helper that
 * fails or dies (out of memory, say) is not used again: its passes of that step, and every pass after, are computed
 * by the others, the learner included, with the same numbers (SharedStep.guarded).
 */
export class GradientThreads extends Context.Service<GradientThreads, {
  /** Compute threads for training passes, the learner's included (1: the learner alone). */
  readonly threads: number
  /** The helpers (1 .. threads - 1) not known to have failed, in order. */
  readonly live: () => ReadonlyArray<number>
  /**
   * Posts `passes` to helper `helper` (1 .. threads - 1) with the model's weights (in optimizer order, with their
   * names) and returns the effect that waits for their results, one per pass in order. The posting is done when the
   * outer effect completes, so the learner can compute its own passes meanwhile.
   */
  readonly submit: (
    helper: number,
    config: Transformer.Config,
    names: ReadonlyArray<string>,
    weights: ReadonlyArray<Float32Array>,
    passes: ReadonlyArray<TrainingPass.Pass>
  ) => Effect.Effect<Effect.Effect<ReadonlyArray<GradientStep.Computed>, StageError>, StageError>
  /**
   * Posts scoring passes (`ScorePasses`) to helper `helper` with a model's weights (in `Transformer.named` order, with
   * their names) and returns the effect that waits for their numbers, one array per batch in order
   * (`ScorePasses.passScores`): the scorings of frozen models (reference, reward model, discriminator) share the
   * threads as training passes do.
   */
  readonly score: (
    helper: number,
    config: Transformer.Config,
    names: ReadonlyArray<string>,
    weights: ReadonlyArray<Float32Array>,
    head: ScorePasses.Head,
    batches: ReadonlyArray<ActionBatch.ActionBatch>
  ) => Effect.Effect<Effect.Effect<ReadonlyArray<Float32Array>, StageError>, StageError>
  /**
   * Posts a part of a sampling (`SampleParts`) to helper `helper` with the policy's weights (in `Transformer.named`
   * order, with their names) and returns the effect that waits for its samples: the sampling of a batch shares the
   * threads as its scorings and training passes do.
   */
  readonly sample: (
    helper: number,
    config: Transformer.Config,
    names: ReadonlyArray<string>,
    weights: ReadonlyArray<Float32Array>,
    part: SampleParts.Part
  ) => Effect.Effect<Effect.Effect<ModelSample.StateSamples, StageError>, StageError>
}>()("stepagent/GradientThreads") {}

const failed = (message: string) => new StageError({ reason: "ThreadFailed", stage: "gradient-threads", step: 0, message: `gradient thread: ${message}` })

interface Helper {
  readonly worker: Worker
  readonly ready: Deferred.Deferred<void, StageError>
  readonly pending: Map<number, Deferred.Deferred<Answer, StageError>>
}

/** A helper's answer to a request: a training request's gradients or a scoring request's numbers. */
type Answer = Extract<GradientThread.Reply, { readonly _tag: "done" | "scored" | "sampled" }>

/**
 * `threads` compute threads for training passes; the helpers' backends are `backend` on one thread each (the
 * learner's backend and matmul path, so that a pass's gradient does not depend on the thread that computed it).
 */
export const layer = (threads: number, backend: BackendOptions.Options): Layer.Layer<GradientThreads> =>
  Layer.effect(
    GradientThreads,
    Effect.gen(function*() {
      const helpers = new Map<number, Helper>()
      const dead = new Set<number>()
      let next = 0
      yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all([...helpers.values()].map((h) => h.worker.terminate()))))
      const start = (index: number): Helper => {
        const data: GradientThread.Data = { backend: { ...backend, threads: 1 } }
        const worker = new Worker(new URL("./GradientThread.ts", import.meta.url), { workerData: data })
        const helper: Helper = { worker, ready: Deferred.makeUnsafe<void, StageError>(), pending: new Map() }
        const die = (why: string) => {
          const error = failed(why)
          Deferred.doneUnsafe(helper.ready, Effect.fail(error))
          for (const d of helper.pending.values()) Deferred.doneUnsafe(d, Effect.fail(error))
          helper.pending.clear()
          dead.add(index)
        }
        worker.on("message", (r: GradientThread.Reply) => {
          switch (r._tag) {
            case "ready":
              return Deferred.doneUnsafe(helper.ready, Effect.void)
            case "fatal":
              return die(r.message)
            case "done":
            case "scored":
            case "sampled":
            case "failed": {
              const d = helper.pending.get(r.id)
              if (d === undefined) return
              helper.pending.delete(r.id)
              return Deferred.doneUnsafe(d, r._tag === "failed" ? Effect.fail(failed(r.message)) : Effect.succeed(r))
            }
          }
        })
        worker.on("error", (e) => die(e.message.split("\n")[0]!))
        worker.on("exit", (code) => die(`exited (${code})`))
        helpers.set(index, helper)
        return helper
      }
      /** Posts a request to helper `index` (started on first use) and returns the effect that waits for its reply. */
      const post = (index: number, request: (id: number) => GradientThread.Request) =>
        Effect.gen(function*() {
          if (index < 1 || index >= threads) return yield* Effect.fail(failed(`no helper ${index} (threads ${threads})`))
          if (dead.has(index)) return yield* Effect.fail(failed(`helper ${index} failed earlier`))
          const helper = helpers.get(index) ?? start(index)
          yield* Deferred.await(helper.ready)
          const id = next++
          const result = Deferred.makeUnsafe<Answer, StageError>()
          helper.pending.set(id, result)
          helper.worker.postMessage(request(id))
          return Deferred.await(result)
        })
      return {
        threads,
        live: () => Array.from({ length: threads - 1 }, (_, i) => i + 1).filter((i) => !dead.has(i)),
        submit: (index, config, names, weights, passes) =>
          Effect.map(post(index, (id) => ({ _tag: "train", id, config, names, weights, passes })), Effect.flatMap((a) =>
            a._tag === "done" ? Effect.succeed(a.results) : Effect.fail(failed("a training request answered with something else")))),
        score: (index, config, names, weights, head, batches) =>
          Effect.map(post(index, (id) => ({ _tag: "score", id, config, names, weights, head, batches })), Effect.flatMap((a) =>
            a._tag === "scored" ? Effect.succeed(a.scores) : Effect.fail(failed("a scoring request answered with something else")))),
        sample: (index, config, names, weights, part) =>
          Effect.map(post(index, (id) => ({ _tag: "sample", id, config, names, weights, part })), Effect.flatMap((a) =>
            a._tag === "sampled" ? Effect.succeed(a.samples) : Effect.fail(failed("a sampling request answered with something else"))))
      }
    })
  )

/** Every pass on the learner's thread. */
export const serial: Layer.Layer<GradientThreads> = Layer.succeed(GradientThreads, {
  threads: 1,
  live: () => [],
  submit: () => Effect.fail(failed("no helper threads")),
  score: () => Effect.fail(failed("no helper threads")),
  sample: () => Effect.fail(failed("no helper threads"))
})

/**
 * Work items shared between the learner and the helpers: item i runs where `owner[i]` says (0: the learner, else that
 * helper). Each helper's items are posted first, in one request (`post`, whose outer effect posts and whose inner one
 * waits for one result an item, in order); the learner computes its own meanwhile (`local`); a helper whose request
 * fails leaves its items to the learner, with one warning (`${message}: ${fallback}`). Results in item order: an item's
 * result does not depend on where it ran. Training passes (`SharedStep`), scorings (`Scoring`) and samplings
 * (`SharedSample`) share the threads through it.
 */
export const spread = <A>(
  owner: ArrayLike<number>,
  post: (helper: number, items: ReadonlyArray<number>) => Effect.Effect<Effect.Effect<ReadonlyArray<A>, StageError>, StageError>,
  local: (item: number) => A,
  fallback: string
): Effect.Effect<Array<A>> =>
  Effect.gen(function*() {
    const results = new Array<A>(owner.length)
    const itemsOf = (thread: number) => Array.from(owner).flatMap((o, i) => o === thread ? [i] : [])
    const compute = (items: ReadonlyArray<number>) =>
      Effect.sync(() => {
        for (const i of items) results[i] = local(i)
      })
    const instead = (items: ReadonlyArray<number>) => (e: StageError) =>
      Effect.logWarning(`${e.message}: ${fallback}`).pipe(Effect.andThen(compute(items)))
    const waits: Array<Effect.Effect<void>> = []
    for (const h of [...new Set(Array.from(owner))].filter((o) => o > 0).sort((a, b) => a - b)) {
      const mine = itemsOf(h)
      const wait = yield* Effect.result(post(h, mine))
      if (wait._tag === "Failure") {
        waits.push(instead(mine)(wait.failure))
        continue
      }
      waits.push(wait.success.pipe(
        Effect.map((rs) => mine.forEach((i, k) => {
          results[i] = rs[k]!
        })),
        Effect.catch(instead(mine))
      ))
    }
    yield* compute(itemsOf(0))
    for (const wait of waits) yield* wait
    return results
  })

/**
 * Which thread computes each pass (0: the learner, else a helper of `helpers`, default 1 .. threads - 1): longest first,
 * each to the thread with the least work so far (ties: the first). Pure; changes no number, only the time.
 */
export const assign = (costs: ReadonlyArray<number>, threads: number, helpers?: ReadonlyArray<number>): Int32Array => {
  const ids = [0, ...(helpers ?? Array.from({ length: Math.max(0, threads - 1) }, (_, i) => i + 1))]
  const owner = new Int32Array(costs.length)
  const load = new Array<number>(ids.length).fill(0)
  const order = costs.map((_, i) => i).sort((a, b) => costs[b]! - costs[a]! || a - b)
  for (const i of order) {
    let best = 0
    for (let t = 1; t < load.length; t++) if (load[t]! < load[best]!) best = t
    owner[i] = ids[best]!
    load[best] = load[best]! + costs[i]!
  }
  return owner
}
