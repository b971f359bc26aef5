import { Effect, Option } from "effect"
import * as HostArray from "../model/HostArray.ts"
import * as ModelSample from "../model/Sample.ts"
import * as SampleParts from "../model/SampleParts.ts"
import * as Transformer from "../model/Transformer.ts"
import * as GradientThreads from "./GradientThreads.ts"

/**
 * A batch's sampling in parts (`SampleParts.parts`: consecutive whole trajectories, each part its own random stream),
 * the parts shared with the live helpers of `GradientThreads` as training passes and scorings are (`spread`: the learner
 * samples part 0 meanwhile; a helper that fails leaves its part to the learner), else all on this thread in order. The
 * parts and their streams do not depend on the thread count, and a part's actions are the same on any thread of the
 * backend, so neither do the samples. Rows come back in the parts' order (the requests' order).
 */
export const states = (policy: Transformer.Model, parts: ReadonlyArray<SampleParts.Part>): Effect.Effect<ModelSample.StateSamples> =>
  Effect.flatMap(Effect.serviceOption(GradientThreads.GradientThreads), (threads) => {
    const local = (g: number) => SampleParts.sample(policy, parts[g]!)
    if (Option.isNone(threads) || threads.value.threads <= 1 || threads.value.live().length === 0 || parts.length <= 1) {
      return Effect.sync(() => ModelSample.concat(parts.map((_, g) => local(g))))
    }
    const helpers = threads.value.live()
    const service = threads.value
    return Effect.gen(function*() {
      const named = Transformer.named(policy.weights)
      const weights = yield* Effect.sync(() => named.map(([, v]) => HostArray.read(v)))
      // part 0 to the learner, the others to the helpers in turn (a part costs about as much as another: even cuts)
      const samples = yield* GradientThreads.spread(
        parts.map((_, g) => g === 0 ? 0 : helpers[(g - 1) % helpers.length]!),
        (h, mine) => Effect.map(Effect.forEach(mine, (g) => service.sample(h, policy.config, named.map(([n]) => n), weights, parts[g]!)), Effect.all),
        local,
        "its sampling goes to the other threads from now on"
      )
      return ModelSample.concat(samples)
    }).pipe(Effect.withSpan("SharedSample.shared"))
  })
