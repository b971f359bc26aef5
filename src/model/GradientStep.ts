import * as tf from "@tensorflow/tfjs"
import * as Guard from "./Guard.ts"
import * as HostArray from "./HostArray.ts"
import * as Optimizer from "./Optimizer.ts"

/**
 * One optimizer step over accumulated passes (`Optimizer.minimize`), with statistics captured from the passes'
 * own forward passes, so no second pass computes them: a pass's loss function hands `capture` a vector of
 * `width` statistics (kept past its `tf.tidy`); after the step they are summed over the passes, each value
 * divided by `per` first (1: plain sums). `guarded` takes the step back when a statistic it checks is not
 * finite (`Guard.update`). Synchronous: call inside one compute block.
 */
export type Pass = (capture: (statistics: tf.Tensor) => void) => tf.Scalar

export interface Result extends Optimizer.StepResult {
  readonly sums: ReadonlyArray<number> // (width) the captured statistics summed over the passes
  // each pass's captured vector, in pass order: a pass may capture more than the `width` summed values (a DPO pass's
  // per-pair log-probs follow its sums), read by the caller that planned it
  readonly captured: ReadonlyArray<Float32Array>
}

export const take = (opt: Optimizer.Optimizer, passes: ReadonlyArray<Pass>, width: number, per = 1): Result => {
  const captured: Array<tf.Tensor> = []
  const capture = (t: tf.Tensor): void => {
    captured.push(tf.keep(t))
  }
  const step = Optimizer.minimize(opt, passes.map((pass) => () => pass(capture)))
  const vectors = captured.map((t) => {
    const v = HostArray.read(t)
    t.dispose()
    return v
  })
  return { ...step, sums: summed(vectors, width, per), captured: vectors }
}

/** The first `width` values of the passes' vectors summed in pass order, each divided by `per` first. */
const summed = (vectors: ReadonlyArray<Float32Array>, width: number, per: number): Array<number> => {
  const sums = new Array<number>(width).fill(0)
  for (const v of vectors) for (let i = 0; i < width; i++) sums[i] = sums[i]! + v[i]! / per
  return sums
}

/** `take`, its statistics read by `stats`, the update undone when a value `checked` names is not finite. */
export const guarded = <A>(
  opt: Optimizer.Optimizer,
  passes: ReadonlyArray<Pass>,
  width: number,
  stats: (r: Result) => A,
  checked: (a: A) => ReadonlyArray<readonly [metric: string, value: number]>,
  per = 1
): Guard.Checked<A> => Guard.update(opt, () => stats(take(opt, passes, width, per)), checked)

/**
 * A pass's loss, gradients and captured statistics as plain arrays: what a pass computed on another thread comes
 * back as (`GradientThreads`), and what a pass computed here becomes before an await, since tensors do not cross
 * one. `grads` follows the optimizer's slots (null: the loss does not reach that variable).
 */
export interface Computed {
  readonly value: number
  readonly grads: ReadonlyArray<Float32Array | null>
  readonly statistics: Float32Array // the captured vector (empty when the pass captures nothing)
}

/** One pass's `Computed`, on the variables `variables` (the optimizer's, or a helper thread's copy in the same order). */
export const compute = (variables: ReadonlyArray<tf.Variable>, pass: Pass): Computed => {
  let value = 0
  let grads: Array<Float32Array | null> = []
  let statistics: Float32Array = new Float32Array(0)
  tf.tidy(() => {
    const g = tf.variableGrads(() => pass((t) => {
      statistics = HostArray.read(t)
    }), [...variables])
    value = g.value.dataSync()[0]!
    grads = variables.map((v) => {
      const d = g.grads[v.name]
      return d === undefined ? null : HostArray.read(d)
    })
  })
  return { value, grads, statistics }
}

/**
 * `take` from passes already computed (in pass order): the same sums in the same order, so the update equals the
 * one `take` makes from the same passes, to the bit.
 */
export const takeComputed = (opt: Optimizer.Optimizer, passes: ReadonlyArray<Computed>, width: number, per = 1): Result => {
  const step = Optimizer.applyArrays(opt, passes)
  return { ...step, sums: summed(passes.map((c) => c.statistics), width, per), captured: passes.map((c) => c.statistics) }
}
