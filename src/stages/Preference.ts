import * as tf from "@tensorflow/tfjs"
import * as Dpo from "../math/Dpo.ts"
import * as ActionBatch from "../model/ActionBatch.ts"
import * as Optimizer from "../model/Optimizer.ts"
import * as Policy from "../model/Policy.ts"
import * as Score from "../model/Score.ts"
import type * as Transformer from "../model/Transformer.ts"
import * as Guard from "./Guard.ts"
import * as Microbatch from "../model/Microbatch.ts"
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
  readonly chosen: ReadonlyArray<ActionBatch.Sequence> // (N) state + expert action
  readonly rejected: ReadonlyArray<ActionBatch.Sequence> // (N) state + agent action
  readonly lengths: ReadonlyArray<number> // (N) the longer of the two sequences of each pair
}

const lengthOf = (s: ActionBatch.Sequence): number => s.parts.reduce((n, p) => n + p.length, 0)

/** The pairs of a batch of agent actions, states rendered within `contextLength` (as scoring does). */
export const pairs = (contextLength: number, actions: ReadonlyArray<AgentAction>): Pairs => {
  const chosen = actions.map((a) => Score.segmentSequence(contextLength, { trajectory: a.segment.trajectory, step: a.segment.step }).sequence)
  const rejected = actions.map((a) => Score.segmentSequence(contextLength, { trajectory: a.segment.trajectory, step: a.segment.step, action: a.tokens }).sequence)
  return { n: actions.length, chosen, rejected, lengths: chosen.map((c, i) => Math.max(lengthOf(c), lengthOf(rejected[i]!))) }
}

/** The pairs at `rows` (in that order). */
export const select = (p: Pairs, rows: ReadonlyArray<number>): Pairs => ({
  n: rows.length,
  chosen: rows.map((r) => p.chosen[r]!),
  rejected: rows.map((r) => p.rejected[r]!),
  lengths: rows.map((r) => p.lengths[r]!)
})

/** Summed log-probabilities of the chosen and rejected actions under a model: (N,) each. */
export interface Logps {
  readonly chosen: Float32Array
  readonly rejected: Float32Array
}

export const logps = (m: Transformer.Model, p: Pairs, maxTokens: number): Logps => {
  const s = Score.sequences(m, [...p.chosen, ...p.rejected], { maxTokens })
  return { chosen: s.sum.slice(0, p.n), rejected: s.sum.slice(p.n) }
}

/** The log-probabilities at `rows` (in that order). */
export const selectLogps = (l: Logps, rows: ReadonlyArray<number>): Logps => ({
  chosen: Float32Array.from(rows, (r) => l.chosen[r]!),
  rejected: Float32Array.from(rows, (r) => l.rejected[r]!)
})

/** The implicit rewards β (log π - log π_ref) of both actions of every pair, given the reference's log-probs. */
export const rewards = (m: Transformer.Model, p: Pairs, ref: Logps, beta: number, maxTokens: number): Logps => {
  const l = logps(m, p, maxTokens)
  return {
    chosen: l.chosen.map((x, i) => beta * (x - ref.chosen[i]!)),
    rejected: l.rejected.map((x, i) => beta * (x - ref.rejected[i]!))
  }
}

export interface StepStats {
  readonly loss: number // loss/dpo
  readonly accuracy: number // dpo/accuracy
  readonly margin: number // dpo/margin
  readonly chosenReward: number // dpo/chosen_reward: mean β (log π - log π_ref) of the expert's actions
  readonly rejectedReward: number // dpo/rejected_reward: the same of the agent's
  readonly gradNorm: number
  readonly learningRate: number
}

/**
 * One DPO update of `m` on all pairs (gradient accumulated over micro-batches of at most `maxTokens`
 * padded tokens; the loss is the mean over pairs exactly). `nllCoef` > 0 adds α times the mean token
 * negative log-likelihood of the chosen (expert) actions (RPO, TRL's `rpo_alpha`): it keeps DPO from
 * lowering the expert's likelihood along with the agent's. Guarded: a non-finite loss or gradient
 * leaves `m` and `opt` as they were.
 */
export const update = (
  m: Transformer.Model,
  opt: Optimizer.Optimizer,
  p: Pairs,
  ref: Logps,
  beta: number,
  maxTokens: number,
  nllCoef = 0
): Guard.Outcome<StepStats> => {
  const micro = Microbatch.plan(p.lengths, maxTokens, 2)
  const chosenTokens = p.chosen.reduce((n, c) => n + c.actions.reduce((m, [a, b]) => m + b - a, 0), 0)
  const captured: Array<tf.Tensor> = []
  const losses = micro.map((rows) => {
    const batch = ActionBatch.build([...rows.map((r) => p.chosen[r]!), ...rows.map((r) => p.rejected[r]!)])
    const refChosen = Float32Array.from(rows, (r) => ref.chosen[r]!)
    const refRejected = Float32Array.from(rows, (r) => ref.rejected[r]!)
    const weight = (rows.length / p.n) * micro.length // the mean over micro-batches is then the mean over pairs
    const k = rows.length
    return () =>
      tf.tidy(() => {
        const o = Policy.outputs(m, ActionBatch.tensors(batch, m.config.copyHead === true))
        const sums = tf.sum(o.logp, 1) // (2k,)
        const l = Dpo.loss(
          tf.slice(sums, [0], [k]) as tf.Tensor1D,
          tf.slice(sums, [k], [k]) as tf.Tensor1D,
          tf.tensor1d(refChosen),
          tf.tensor1d(refRejected),
          beta
        )
        captured.push(tf.keep(tf.mul(tf.stack([l.accuracy, l.margin, tf.mean(l.chosenReward), tf.mean(l.rejectedReward)]), k)))
        const dpo = tf.mul(l.loss, weight) as tf.Scalar
        if (nllCoef === 0) return dpo
        // RPO: + α * the chosen actions' mean token NLL (over all chosen tokens of the step), against likelihood displacement
        const nll = tf.div(tf.neg(tf.sum(tf.slice(sums, [0], [k]))), Math.max(1, chosenTokens) / micro.length)
        return tf.add(dpo, tf.mul(nllCoef, nll)) as tf.Scalar
      })
  })
  return Guard.update(
    opt,
    () => {
      const step = Optimizer.minimize(opt, losses)
      const totals = [0, 0, 0, 0]
      for (const t of captured) {
        const v = t.dataSync()
        for (let i = 0; i < 4; i++) totals[i] = totals[i]! + v[i]!
        t.dispose()
      }
      return {
        loss: step.loss,
        accuracy: totals[0]! / p.n,
        margin: totals[1]! / p.n,
        chosenReward: totals[2]! / p.n,
        rejectedReward: totals[3]! / p.n,
        gradNorm: step.gradNorm,
        learningRate: step.learningRate
      }
    },
    (s) => Guard.firstNonFinite([["loss/dpo", s.loss], ["grad/norm", s.gradNorm]])
  )
}
