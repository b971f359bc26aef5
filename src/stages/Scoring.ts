import { Effect, Option } from "effect"
import type { Tokenizer } from "../data/Tokenizer.ts"
import * as Discriminator from "../model/Discriminator.ts"
import * as Packed from "../model/Packed.ts"
import * as Score from "../model/Score.ts"
import type * as Transformer from "../model/Transformer.ts"
import { type DispatchError, Dispatcher, type ScoreHead, toScoreUnit } from "./Dispatcher.ts"

/**
 * Step-reward scoring (StepAgent's reflection): one number per (state, action) request under a frozen model, either
 * in this process or, when a `Dispatcher` is present (`--cluster`), on a worker that fetches exactly these weights.
 * Both compute `compute` on the same requests, so both give the same numbers:
 *   logp            log π(a|s), the action's summed token log-probabilities (prefix-packed, `Score.packed`)
 *   tokenLogp       each token's log π, the requests' actions one after another (`actionLength` numbers each; a token
 *                   the context cut is 0): `split` gives the rows and the same sums as `logp`, to the bit
 *   discriminator   -log D(s, a), the inverse reward of a discriminator (its value head is D's logit)
 * in packed passes of at most `maxTokens` padded tokens. The tensors live inside `compute`; only arrays leave it.
 */
export const compute = (m: Transformer.Model, head: ScoreHead, requests: ReadonlyArray<Packed.Request>, maxTokens: number): Float32Array => {
  if (head === "logp") return Score.packed(m, requests, { maxTokens }).sum
  if (head === "tokenLogp") {
    const s = Score.packed(m, requests, { maxTokens })
    const out = new Float32Array(requests.reduce((n, q) => n + actionLength(q), 0))
    let at = 0
    requests.forEach((q, r) => {
      const n = actionLength(q)
      out.set(s.logp.subarray(r * s.width, r * s.width + Math.min(n, s.width)), at)
      at += n
    })
    return out
  }
  const out = new Float32Array(requests.length)
  for (const pass of Packed.passes(Packed.pack(m.config.contextLength, requests), maxTokens)) {
    const r = Discriminator.rewards(m, pass.batch)
    pass.requests.forEach((q, j) => out[q] = r[j]!)
  }
  return out
}

/** The numbers of `requests` under `model` (`compute`), here or on a cluster worker. */
export const scores = (
  model: Transformer.Model,
  tokenizer: Tokenizer,
  head: ScoreHead,
  requests: ReadonlyArray<Packed.Request>,
  maxTokens: number
): Effect.Effect<Float32Array, DispatchError> =>
  Effect.flatMap(Effect.serviceOption(Dispatcher), (dispatcher) => {
    const remote = Option.isSome(dispatcher) ? dispatcher.value.scores : undefined
    return remote === undefined || requests.length === 0
      ? Effect.sync(() => compute(model, head, requests, maxTokens))
      : remote(toScoreUnit(requests, head, maxTokens), { model, tokenizer })
  })

/** Tokens of a request's action: its own, or the expert's at its step. */
export const actionLength = (q: Packed.Request): number => q.action?.length ?? Score.expertAction(q.trajectory, q.step).length

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
