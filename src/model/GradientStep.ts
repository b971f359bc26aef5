import * as tf from "@tensorflow/tfjs"
import * as Guard from "./Guard.ts"
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
}

export const take = (opt: Optimizer.Optimizer, passes: ReadonlyArray<Pass>, width: number, per = 1): Result => {
  const captured: Array<tf.Tensor> = []
  const capture = (t: tf.Tensor): void => {
    captured.push(tf.keep(t))
  }
  const step = Optimizer.minimize(opt, passes.map((pass) => () => pass(capture)))
  const sums = new Array<number>(width).fill(0)
  for (const t of captured) {
    const v = t.dataSync()
    for (let i = 0; i < width; i++) sums[i] = sums[i]! + v[i]! / per
    t.dispose()
  }
  return { ...step, sums }
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
