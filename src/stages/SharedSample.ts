import { Effect, Option } from "effect"
import * as HostArray from "../model/HostArray.ts"
import * as ModelSample from "../model/Sample.ts"
import * as Rng from "../model/Rng.ts"
import * as SampleParts from "../model/SampleParts.ts"
import * as Transformer from "../model/Transformer.ts"
import type * as GradientThread from "./GradientThread.ts"
import * as GradientThreads from "./GradientThreads.ts"
import type { StageError } from "./StageError.ts"

/**
 * A batch's sampling in parts (`SampleParts.plan`: consecutive whole trajectories, each part its own random stream),
 * the parts shared with the live helpers of `GradientThreads` as training passes and scorings are (the learner samples
 * its own meanwhile; a helper that fails leaves its part to the learner), else all on this thread in order. The parts
 * and their streams do not depend on the thread count, and a part's actions are the same on any thread of the
 * backend, so neither do the samples. Rows come back in the parts' order (`partsOf`: the requests' order).
 */
export const states = (
  policy: Transformer.Model,
  parts: ReadonlyArray<GradientThread.SamplePart>
): Effect.Effect<ModelSample.StateSamples> =>
  Effect.flatMap(Effect.serviceOption(GradientThreads.GradientThreads), (threads) => {
    const local = (part: GradientThread.SamplePart) => ModelSample.states(policy, part.requests, part.k, Rng.make(part.seed), part.options)
    if (Option.isNone(threads) || threads.value.threads <= 1 || threads.value.live().length === 0 || parts.length <= 1) {
      return Effect.sync(() => ModelSample.concat(parts.map(local)))
    }
    return shared(threads.value, policy, parts, local)
  })

/** The sampling of `requests` cut into at most `count` parts, part g drawing from the stream `seedOf(g)`. Pure. */
export const partsOf = (
  requests: ReadonlyArray<ModelSample.StateRequest>,
  count: number,
  k: number,
  options: ModelSample.Options,
  seedOf: (part: number) => number
): Array<GradientThread.SamplePart> =>
  SampleParts.plan(requests.map((r) => r.trajectory), count).map(([start, end], g) => ({ requests: requests.slice(start, end), k, seed: seedOf(g), options }))

const shared = (
  threads: GradientThreads.GradientThreads["Service"],
  policy: Transformer.Model,
  parts: ReadonlyArray<GradientThread.SamplePart>,
  local: (part: GradientThread.SamplePart) => ModelSample.StateSamples
): Effect.Effect<ModelSample.StateSamples> =>
  Effect.gen(function*() {
    const helpers = threads.live()
    // part 0 to the learner, the others to the helpers in turn (a part costs about as much as another: even cuts)
    const owner = parts.map((_, g) => g === 0 ? 0 : helpers[(g - 1) % helpers.length]!)
    const results = new Array<ModelSample.StateSamples | undefined>(parts.length)
    const named = Transformer.named(policy.weights)
    const weights = yield* Effect.sync(() => named.map(([, v]) => HostArray.read(v)))
    const fallback = (g: number) => (e: StageError) =>
      Effect.logWarning(`${e.message}: its sampling goes to the other threads from now on`).pipe(Effect.andThen(Effect.sync(() => {
        results[g] = local(parts[g]!)
      })))
    const waits: Array<Effect.Effect<void>> = []
    for (let g = 1; g < parts.length; g++) {
      const wait = yield* Effect.result(threads.sample(owner[g]!, policy.config, named.map(([n]) => n), weights, parts[g]!))
      if (wait._tag === "Failure") {
        waits.push(fallback(g)(wait.failure))
        continue
      }
      waits.push(wait.success.pipe(Effect.map((s) => {
        results[g] = s
      }), Effect.catch(fallback(g))))
    }
    yield* Effect.sync(() => {
      results[0] = local(parts[0]!)
    })
    for (const wait of waits) yield* wait
    return ModelSample.concat(results.map((r) => r!))
  }).pipe(Effect.withSpan("SharedSample.shared"))
