import * as tf from "@tensorflow/tfjs"
import type * as Optimizer from "./Optimizer.ts"

/**
 * An optimizer update that can be taken back: the variables and Adam's moments are copied before `update`
 * runs, and restored (with the step counter) when a value `checked` names in its result is not finite (the
 * first in order is reported), so a NaN or infinite loss never reaches the weights. The copy costs one
 * memcpy of the weights and moments (on wasm ~12 MB for the `small` preset, a few ms next to a training
 * step). Synchronous: call inside one compute block.
 */
/**
 * What a guarded update (or a block of them) gives: its value, or the metric that stopped it and its value (the
 * failing update not applied).
 */
export type Checked<A> =
  | { readonly ok: true; readonly value: A }
  | { readonly ok: false; readonly metric: string; readonly bad: number }

export const update = <A>(
  opt: Optimizer.Optimizer,
  run: () => A,
  checked: (a: A) => ReadonlyArray<readonly [metric: string, value: number]>
): Checked<A> => {
  const step = opt.step
  const saved = opt.slots.map((s) => [tf.clone(s.variable), tf.clone(s.m), tf.clone(s.v)] as const)
  const value = run()
  const found = firstNonFinite(checked(value))
  if (found === undefined) {
    for (const ts of saved) for (const t of ts) t.dispose()
    return { ok: true, value }
  }
  opt.slots.forEach((s, i) => {
    const [v, m, vv] = saved[i]!
    s.variable.assign(v)
    s.m.assign(m)
    s.v.assign(vv)
  })
  for (const ts of saved) for (const t of ts) t.dispose()
  opt.step = step
  return { ok: false, metric: found[0], bad: found[1] }
}

/** The first entry of `values` that is not finite, in order. */
export const firstNonFinite = (values: ReadonlyArray<readonly [string, number]>): readonly [string, number] | undefined =>
  values.find(([, v]) => !Number.isFinite(v))
