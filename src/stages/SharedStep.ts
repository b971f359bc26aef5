import { Effect } from "effect"
import * as GradientStep from "../model/GradientStep.ts"
import * as Guard from "../model/Guard.ts"
import * as Optimizer from "../model/Optimizer.ts"
import * as TrainingPass from "../model/TrainingPass.ts"
import type * as Transformer from "../model/Transformer.ts"
import * as GradientThreads from "./GradientThreads.ts"

/**
 * One guarded optimizer step over training passes given as data (`TrainingPass`), wherever `GradientThreads` says
 * they run: with helper threads, the passes are shared between the learner and the helpers (`GradientThreads.assign`)
 * and their gradients summed in pass order (`GradientStep.takeComputed`); without, every pass runs here
 * (`GradientStep.guarded`). Both give the same update to the bit. `width` statistics are captured per pass and summed,
 * each divided by `per`; `stats` reads the step's result, `checked` names the values that must be finite (else the
 * update is taken back: `Guard.update`).
 */
export const guarded = <A>(
  model: Transformer.Model,
  opt: Optimizer.Optimizer,
  passes: ReadonlyArray<TrainingPass.Pass>,
  width: number,
  stats: (r: GradientStep.Result) => A,
  checked: (a: A) => ReadonlyArray<readonly [metric: string, value: number]>,
  per = 1
): Effect.Effect<Guard.Checked<A>> => {
  const serial = Effect.sync(() =>
    GradientStep.guarded(opt, passes.map((p): GradientStep.Pass => (capture) => TrainingPass.loss(model, p, capture)), width, stats, checked, per)
  )
  /** The passes shared between this thread and the helpers; the learner's computed while the helpers compute theirs. */
  const shared = (threads: GradientThreads.GradientThreads["Service"]) =>
    Effect.gen(function*() {
      const owner = GradientThreads.assign(passes.map(TrainingPass.cost), threads.threads, threads.live())
      const names = opt.slots.map((s) => s.name)
      const weights = owner.some((o) => o > 0) ? yield* Effect.sync(() => Optimizer.weights(opt)) : []
      const variables = opt.slots.map((s) => s.variable)
      // a helper that fails leaves its passes to the learner: the same numbers, a slower step, and it is not used again
      const computed = yield* GradientThreads.spread(
        owner,
        (h, mine) => threads.submit(h, model.config, names, weights, mine.map((i) => passes[i]!)),
        (i) => GradientStep.compute(variables, (capture) => TrainingPass.loss(model, passes[i]!, capture)),
        "its passes go to the other threads from now on"
      )
      return yield* Effect.sync(() => Guard.update(opt, () => stats(GradientStep.takeComputed(opt, computed, width, per)), checked))
    }).pipe(Effect.withSpan("SharedStep.shared"))
  return Effect.flatMap(Effect.serviceOption(GradientThreads.GradientThreads), (threads) =>
    threads._tag === "Some" && threads.value.threads > 1 && threads.value.live().length > 0 ? shared(threads.value) : serial)
}
