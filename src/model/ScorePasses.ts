import type * as ActionBatch from "./ActionBatch.ts"
import * as Discriminator from "./Discriminator.ts"
import * as Packed from "./Packed.ts"
import * as Score from "./Score.ts"
import type * as Transformer from "./Transformer.ts"

/**
 * The passes of a scoring of (state, action) requests under a frozen model, as data (`plan`), each computed on any
 * thread by the same code (`passScores`), and their numbers put back in request order (`assemble`): the learner, a
 * training thread's helper and a cluster worker give the same numbers. Heads:
 *   logp            log π(a|s), the action's summed token log-probabilities
 *   tokenLogp       each token's log π, the requests' actions one after another (`actionLength` numbers each; a token
 *                   the context cut is 0)
 *   discriminator   -log D(s, a) of a discriminator (its value head is D's logit)
 */
export type Head = "logp" | "tokenLogp" | "discriminator"

/**
 * Passes a scoring is split into at least (when it packs into that many sequences): two threads can share it. The
 * plan does not depend on how many threads there are, so neither do the numbers (as the SFT stage's `minPasses`).
 */
export const minPasses = 2

/** The packed passes of `requests`: the same plan here, on a helper thread and on a cluster worker. Pure. */
export const plan = (contextLength: number, requests: ReadonlyArray<Packed.Request>, maxTokens: number): Array<Packed.Pass> =>
  Packed.passes(Packed.pack(contextLength, requests), maxTokens, minPasses)

/**
 * One pass's numbers, its rows in order: `logp` and `discriminator` one number a row; `tokenLogp` the (R, A) matrix of
 * per-token log-probs (A = the pass's `width`; 0 past a row's scored tokens).
 */
export const passScores = (m: Transformer.Model, head: Head, batch: ActionBatch.ActionBatch): Float32Array => {
  if (head === "discriminator") return Discriminator.rewards(m, batch)
  const s = Score.score(m, batch)
  return head === "logp" ? s.sum : s.logp
}

/** The passes' numbers (`passScores`, one array a pass) in request order, in `head`'s layout (`Head`). Pure. */
export const assemble = (head: Head, requests: ReadonlyArray<Packed.Request>, passes: ReadonlyArray<Packed.Pass>, results: ReadonlyArray<Float32Array>): Float32Array => {
  if (head !== "tokenLogp") {
    const out = new Float32Array(requests.length)
    passes.forEach((p, k) => p.requests.forEach((q, j) => out[q] = results[k]![j]!))
    return out
  }
  const offset = new Int32Array(requests.length + 1)
  requests.forEach((q, r) => offset[r + 1] = offset[r]! + actionLength(q))
  const out = new Float32Array(offset[requests.length]!)
  passes.forEach((p, k) => {
    const A = p.batch.width
    p.requests.forEach((q, j) => {
      const n = Math.min(offset[q + 1]! - offset[q]!, A)
      out.set(results[k]!.subarray(j * A, j * A + n), offset[q]!)
    })
  })
  return out
}

/** Tokens of a request's action: its own, or the expert's at its step. */
export const actionLength = (q: Packed.Request): number => q.action?.length ?? Score.expertAction(q.trajectory, q.step).length
