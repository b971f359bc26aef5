import { Effect, Option } from "effect"
import type { Tokenizer } from "../data/Tokenizer.ts"
import * as HostArray from "../model/HostArray.ts"
import type * as Packed from "../model/Packed.ts"
import * as ScorePasses from "../model/ScorePasses.ts"
import * as Transformer from "../model/Transformer.ts"
import { type DispatchError, Dispatcher, type ScoreHead, toScoreUnit } from "./Dispatcher.ts"
import * as GradientThreads from "./GradientThreads.ts"

/**
 * Step-reward scoring (StepAgent's reflection): one number per (state, action) request under a frozen model, either
 * in this process (its passes, `ScorePasses`, shared with the training threads' helpers when there are any: `GradientThreads`) or,
 * when a `Dispatcher` takes scoring units (`--cluster`), on a worker that fetches exactly these weights. All compute
 * the same packed passes (`ScorePasses.plan`) with the same code (`ScorePasses.passScores`), so all give the same numbers:
 *   logp            log π(a|s), the action's summed token log-probabilities (prefix-packed, `Score.packed`)
 *   tokenLogp       each token's log π, the requests' actions one after another (`actionLength` numbers each; a token
 *                   the context cut is 0): `split` gives the rows and the same sums as `logp`, to the bit
 *   discriminator   -log D(s, a), the inverse reward of a discriminator (its value head is D's logit)
 * in packed passes of at most `maxTokens` padded tokens. The tensors live inside `ScorePasses.passScores`; only arrays leave it.
 */

/** The numbers of `requests` under `m` in this process, every pass on this thread. */
export const compute = (m: Transformer.Model, head: ScoreHead, requests: ReadonlyArray<Packed.Request>, maxTokens: number): Float32Array => {
  const passes = ScorePasses.plan(m.config.contextLength, requests, maxTokens)
  return ScorePasses.assemble(head, requests, passes, passes.map((p) => ScorePasses.passScores(m, head, p.batch)))
}

/**
 * The numbers of `requests` under `model` (`compute`): on a cluster worker when the `Dispatcher` takes scoring units,
 * else here, the passes shared with the live helpers of `GradientThreads` (the learner computes its own meanwhile; a
 * helper that fails leaves its passes to the learner), else all on this thread.
 */
export const scores = (
  model: Transformer.Model,
  tokenizer: Tokenizer,
  head: ScoreHead,
  requests: ReadonlyArray<Packed.Request>,
  maxTokens: number
): Effect.Effect<Float32Array, DispatchError> =>
  Effect.flatMap(Effect.serviceOption(Dispatcher), (dispatcher) => {
    const remote = Option.isSome(dispatcher) ? dispatcher.value.scores : undefined
    if (requests.length === 0) return Effect.sync(() => new Float32Array(0))
    if (remote !== undefined) return remote(toScoreUnit(requests, head, maxTokens), { model, tokenizer })
    return Effect.flatMap(Effect.serviceOption(GradientThreads.GradientThreads), (threads) =>
      Option.isSome(threads) && threads.value.threads > 1 && threads.value.live().length > 0
        ? shared(threads.value, model, head, requests, maxTokens)
        : Effect.sync(() => compute(model, head, requests, maxTokens)))
  })

/** `compute`'s passes shared between this thread and the helpers (`GradientThreads.assign`, by padded tokens). */
const shared = (
  threads: GradientThreads.GradientThreads["Service"],
  model: Transformer.Model,
  head: ScoreHead,
  requests: ReadonlyArray<Packed.Request>,
  maxTokens: number
): Effect.Effect<Float32Array> =>
  Effect.gen(function*() {
    const passes = ScorePasses.plan(model.config.contextLength, requests, maxTokens)
    const owner = GradientThreads.assign(passes.map((p) => p.batch.batch * p.batch.length), threads.threads, threads.live())
    const named = owner.some((o) => o > 0) ? Transformer.named(model.weights) : []
    const weights = yield* Effect.sync(() => named.map(([, v]) => HostArray.read(v)))
    const results = yield* GradientThreads.spread(
      owner,
      (h, mine) => threads.score(h, model.config, named.map(([n]) => n), weights, head, mine.map((k) => passes[k]!.batch)),
      (k) => ScorePasses.passScores(model, head, passes[k]!.batch),
      "its passes go to the other threads from now on"
    )
    return ScorePasses.assemble(head, requests, passes, results)
  }).pipe(Effect.withSpan("Scoring.shared"))

/** Tokens of a request's action: its own, or the expert's at its step. */
export const actionLength = ScorePasses.actionLength

/**
 * A `tokenLogp` result as per-request rows (views) and their sums, summed as `Score` sums a row (in order, in double
 * precision, then to float32): the sums are `logp`'s to the bit.
 */
export const split = (flat: Float32Array, requests: ReadonlyArray<Packed.Request>): { readonly rows: Array<Float32Array>; readonly sums: Float32Array } => {
  const rows: Array<Float32Array> = []
  const sums = new Float32Array(requests.length)
  let at = 0
  requests.forEach((q, r) => {
    const row = flat.subarray(at, at + actionLength(q))
    let s = 0
    for (const x of row) s += x
    sums[r] = s
    rows.push(row)
    at += row.length
  })
  return { rows, sums }
}
