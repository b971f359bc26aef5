import { Effect } from "effect"
import type * as Guard from "../model/Guard.ts"
import type * as Optimizer from "../model/Optimizer.ts"
import * as Score from "../model/Score.ts"
import type * as Transformer from "../model/Transformer.ts"
import * as Microbatch from "../model/Microbatch.ts"
import * as Packed from "../model/Packed.ts"
import type * as Rng from "../model/Rng.ts"
import type * as TrainingPass from "../model/TrainingPass.ts"
import * as Run from "./Run.ts"
import * as SharedStep from "./SharedStep.ts"
import type { AgentAction } from "./Sample.ts"

/**
 * Step-level preference pairs at one expert state: the expert's action chosen, the agent's rejected.
 * The step-level DPO update (`update`) and the implicit reward (`rewards`) of the implicit variant and of
 * the step-DPO baseline are built on them:
 *   h = β [(log π(a_e|s) - log π_ref(a_e|s)) - (log π(a|s) - log π_ref(a|s))],   L = -E[log σ(h)]
 *   r(s, a) = β (log π(a|s) - log π_ref(a|s))
 * with log π(a|s) the summed log-probabilities of the action's tokens. Synchronous: call inside one compute block.
 */
export interface Pairs {
  readonly n: number
  readonly contextLength: number
  readonly agent: ReadonlyArray<Packed.Request> // (N) the agent's action at its expert state; the chosen is the expert's action there
}

/** The pairs of a batch of agent actions, states rendered within `contextLength` (as scoring does). */
export const pairs = (contextLength: number, actions: ReadonlyArray<AgentAction>): Pairs => ({
  n: actions.length,
  contextLength,
  agent: actions.map((a) => ({ trajectory: a.segment.trajectory, step: a.segment.step, action: a.tokens }))
})

/** Pairs of the expert's action and each request's action at the request's state (synthetic negatives: Negatives.requests). */
export const ofRequests = (contextLength: number, agent: ReadonlyArray<Packed.Request>): Pairs => ({ n: agent.length, contextLength, agent })

/** The pairs of `a`, then those of `b`. */
export const concat = (a: Pairs, b: Pairs): Pairs => ({ n: a.n + b.n, contextLength: a.contextLength, agent: [...a.agent, ...b.agent] })

/** The pairs at `rows` (in that order). */
export const select = (p: Pairs, rows: ReadonlyArray<number>): Pairs => ({ n: rows.length, contextLength: p.contextLength, agent: rows.map((r) => p.agent[r]!) })

/** A minibatch order that keeps each trajectory's pairs together (`Run.groupedPermutation`), so packed passes share trunks. */
export const order = (rng: Rng.Rng, p: Pairs): Int32Array => Run.groupedPermutation(rng, p.agent.map((a) => a.trajectory))

/** Requests 0..N-1 the chosen (expert) actions, N..2N-1 the rejected (agent) ones: pair i stays in one packed sequence. */
export const requests = (p: Pairs): Array<Packed.Request> => [...p.agent.map((a) => ({ trajectory: a.trajectory, step: a.step })), ...p.agent]

/** Summed log-probabilities of the chosen and rejected actions under a model: (N,) each. */
export interface Logps {
  readonly chosen: Float32Array
  readonly rejected: Float32Array
}

export const logps = (m: Transformer.Model, p: Pairs, maxTokens: number): Logps => ofSums(Score.packed(m, requests(p), { maxTokens }).sum, p.n)

/** The log-probabilities of N pairs from the 2N summed log-probabilities of `requests` (`Scoring.scores`, head `logp`). */
export const ofSums = (sums: Float32Array, n: number): Logps => ({ chosen: sums.slice(0, n), rejected: sums.slice(n) })

/** The log-probabilities at `rows` (in that order). */
export const selectLogps = (l: Logps, rows: ReadonlyArray<number>): Logps => ({
  chosen: Float32Array.from(rows, (r) => l.chosen[r]!),
  rejected: Float32Array.from(rows, (r) => l.rejected[r]!)
})

/** The log-probabilities of `a`'s pairs, then `b`'s. */
export const concatLogps = (a: Logps, b: Logps): Logps => {
  const join = (x: Float32Array, y: Float32Array) => {
    const out = new Float32Array(x.length + y.length)
    out.set(x)
    out.set(y, x.length)
    return out
  }
  return { chosen: join(a.chosen, b.chosen), rejected: join(a.rejected, b.rejected) }
}

/** The implicit rewards β (log π - log π_ref) of both actions of every pair, from both models' log-probs. */
export const implicit = (l: Logps, ref: Logps, beta: number): Logps => ({
  chosen: l.chosen.map((x, i) => beta * (x - ref.chosen[i]!)),
  rejected: l.rejected.map((x, i) => beta * (x - ref.rejected[i]!))
})

/** The implicit rewards β (log π - log π_ref) of both actions of every pair, given the reference's log-probs. */
export const rewards = (m: Transformer.Model, p: Pairs, ref: Logps, beta: number, maxTokens: number): Logps =>
  implicit(logps(m, p, maxTokens), ref, beta)

export interface StepStats {
  readonly loss: number // loss/dpo
  readonly accuracy: number // dpo/accuracy
  readonly margin: number // dpo/margin
  readonly chosenReward: number // dpo/chosen_reward: mean β (log π - log π_ref) of the expert's actions
  readonly rejectedReward: number // dpo/rejected_reward: the same of the agent's
  readonly gradNorm: number
  readonly learningRate: number
  // log π(a_e|s) and log π(a|s) of the update's pairs under the weights before it (its own forward passes': what the
  // model made of pairs it had not trained on yet, at no cost of a scoring)
  readonly logps: Logps
}

/** The DPO settings both users share (the implicit reward model's and step DPO's configs). */
export interface Settings {
  readonly beta: number
  readonly maxTokens: number
  readonly nllCoef: number
  readonly minPasses: number
}

/**
 * The passes of one DPO update of `m` on all pairs, as data (`DpoPass`): packed passes of at most `maxTokens` padded
 * tokens, at least `minPasses` when the pairs' trajectories allow (so that training threads can share them), both
 * actions of a pair in the same pass (`Packed.pack`). Weighted so that the optimizer's mean over passes is the mean
 * over pairs exactly. Each pass comes with the pairs it holds (indices into `p`, ascending: the order of its captured
 * log-probs, `DpoPass.loss`). Pure.
 */
export const plan = (m: Transformer.Model, p: Pairs, ref: Logps, settings: Settings): Array<{ readonly pass: TrainingPass.Pass; readonly pairs: ReadonlyArray<number> }> => {
  const { beta, nllCoef } = settings
  const passes = Packed.passes(Packed.pack(p.contextLength, requests(p)), Microbatch.trainingTokens(m.config, settings.maxTokens), settings.minPasses)
  const chosenTokens = p.agent.reduce((n, a) => n + Math.min(Score.expertAction(a.trajectory, a.step).length, p.contextLength), 0)
  return passes.map((pass) => {
    // rows of the pass: pair i's chosen action is request i, its rejected one request n + i
    const chosenRow = new Map<number, number>()
    const rejectedRow = new Map<number, number>()
    pass.requests.forEach((q, r) => (q < p.n ? chosenRow : rejectedRow).set(q % p.n, r))
    const pairsIn = [...rejectedRow.keys()].sort((a, b) => a - b)
    const k = pairsIn.length
    return {
      pairs: pairsIn,
      pass: {
        kind: "dpo",
        pass: {
          batch: pass.batch,
          chosenIx: Int32Array.from(pairsIn, (i) => chosenRow.get(i)!),
          rejectedIx: Int32Array.from(pairsIn, (i) => rejectedRow.get(i)!),
          refChosen: Float32Array.from(pairsIn, (i) => ref.chosen[i]!),
          refRejected: Float32Array.from(pairsIn, (i) => ref.rejected[i]!),
          beta,
          // Dpo.loss is a mean over the pass's pairs; Optimizer.minimize averages over passes: the result is the mean over pairs
          weight: (k / p.n) * passes.length,
          nllCoef,
          nllTokens: Math.max(1, chosenTokens) / passes.length
        }
      }
    }
  })
}

/**
 * One DPO update of `m` on all pairs (gradient accumulated over the passes of `plan`, shared by the training threads
 * when there are any: `SharedStep`; the loss is the mean over pairs exactly). `nllCoef` > 0 adds α times the mean token
 * negative log-likelihood of the chosen (expert) actions (RPO, TRL's `rpo_alpha`): it keeps DPO from lowering the
 * expert's likelihood along with the agent's. Guarded: a non-finite loss or gradient leaves `m` and `opt` as they were.
 */
export const update = (m: Transformer.Model, opt: Optimizer.Optimizer, p: Pairs, ref: Logps, settings: Settings): Effect.Effect<Guard.Checked<StepStats>> => {
  const passes = plan(m, p, ref, settings)
  return SharedStep.guarded(
    m,
    opt,
    passes.map((x) => x.pass),
    4,
    (r) => ({
      loss: r.loss,
      accuracy: r.sums[0]! / p.n,
      margin: r.sums[1]! / p.n,
      chosenReward: r.sums[2]! / p.n,
      rejectedReward: r.sums[3]! / p.n,
      gradNorm: r.gradNorm,
      learningRate: r.learningRate,
      logps: capturedLogps(p.n, passes.map((x) => x.pairs), r.captured)
    }),
    (s) => [["loss/dpo", s.loss], ["grad/norm", s.gradNorm]]
  )
}

/** The pairs' log-probs from the passes' captured vectors (DpoPass: 4 sums, then k chosen and k rejected). Pure. */
const capturedLogps = (n: number, pairsOf: ReadonlyArray<ReadonlyArray<number>>, captured: ReadonlyArray<Float32Array>): Logps => {
  const out = { chosen: new Float32Array(n).fill(Number.NaN), rejected: new Float32Array(n).fill(Number.NaN) }
  pairsOf.forEach((pairs, k) => {
    const v = captured[k]!
    pairs.forEach((i, j) => {
      out.chosen[i] = v[4 + j]!
      out.rejected[i] = v[4 + pairs.length + j]!
    })
  })
  return out
}


/**
 * The DPO loop: `steps` updates of `m` in order (`update`), each on the pairs `rows` picks (all pairs when there
 * is no `rows`), each step's statistics with the optimizer step it made. Stops at the first update that is not
 * finite (not applied).
 */
export const train = Effect.fn("Preference.train")(function*(
  m: Transformer.Model,
  opt: Optimizer.Optimizer,
  p: Pairs,
  ref: Logps,
  settings: Settings,
  steps: number,
  rows?: () => ReadonlyArray<number>
) {
  const out: Array<Trained> = []
  const all = Array.from({ length: p.n }, (_, i) => i)
  for (let s = 0; s < steps; s++) {
    const r = rows?.()
    const outcome = r === undefined
      ? yield* update(m, opt, p, ref, settings)
      : yield* update(m, opt, select(p, r), selectLogps(ref, r), settings)
    if (!outcome.ok) return outcome
    out.push({ ...outcome.value, step: opt.step, rows: r ?? all })
  }
  return { ok: true, value: out } as Guard.Checked<Array<Trained>>
})

/** One update of `train`: its statistics, the optimizer step it made, and the pairs it took (`rows`: its `logps`' pairs, in order). */
export type Trained = StepStats & { readonly step: number; readonly rows: ReadonlyArray<number> }

/**
 * Each of `n` pairs' log-probs at the first update that took it, under the weights before that update: held-out
 * log-probs of the pairs (progressive validation: a pair's are taken before the model trains on it, after it trained on
 * the batch's earlier minibatches, which hold other trajectories); NaN for a pair no update took. Pure.
 */
export const firstSeen = (n: number, updates: ReadonlyArray<Pick<Trained, "rows" | "logps">>): Logps => {
  const out = { chosen: new Float32Array(n).fill(Number.NaN), rejected: new Float32Array(n).fill(Number.NaN) }
  for (const u of updates) {
    u.rows.forEach((i, j) => {
      if (!Number.isNaN(out.chosen[i]!)) return
      out.chosen[i] = u.logps.chosen[j]!
      out.rejected[i] = u.logps.rejected[j]!
    })
  }
  return out
}

/**
 * Minibatches of `size` pairs (at most all of them) cut in turn from a seeded order that keeps each trajectory's
 * pairs together (`order`), a new order drawn when the rest of one is too short; each minibatch's rows ascending.
 */
export const minibatches = (rng: Rng.Rng, p: Pairs, size: number): () => ReadonlyArray<number> => {
  const m = Math.min(size, p.n)
  let ordered = order(rng, p)
  let at = 0
  return () => {
    if (at + m > p.n) {
      ordered = order(rng, p)
      at = 0
    }
    const rows = Array.from(ordered.subarray(at, at + m)).sort((a, b) => a - b)
    at += m
    return rows
  }
}
