import type * as Tokenized from "../domain/Tokenized.ts"
import * as Rng from "./Rng.ts"
import * as ModelSample from "./Sample.ts"
import type * as Transformer from "./Transformer.ts"

/**
 * A sampling's parts: its states (in order) cut into `parts` runs of consecutive states, each run whole trajectories
 * (so a trajectory's states still share one prefill), as even in states as those boundaries allow (min(parts, trajectories) of them). Each part samples
 * with its own random stream, so two training threads can sample one part each and the actions do not depend on how
 * many threads there are (as training's `minPasses`). Pure.
 */
export const plan = (trajectories: ReadonlyArray<Tokenized.TokenizedTrajectory>, parts: number): Array<readonly [start: number, end: number]> => {
  // the boundaries where a trajectory starts (after the first state)
  const cuts: Array<number> = []
  for (let i = 1; i < trajectories.length; i++) if (trajectories[i] !== trajectories[i - 1]) cuts.push(i)
  const n = trajectories.length
  const want = Math.min(parts, cuts.length + 1)
  const chosen: Array<number> = []
  for (let g = 1; g < want; g++) {
    const target = (g * n) / want
    // the boundary nearest the even cut, after the previous one and leaving enough for the parts after it (ties: the earlier)
    let best = -1
    cuts.forEach((c, i) => {
      if (c <= (chosen[chosen.length - 1] ?? 0) || cuts.length - 1 - i < want - 1 - g) return
      if (best < 0 || Math.abs(c - target) < Math.abs(best - target)) best = c
    })
    chosen.push(best)
  }
  const bounds = [0, ...chosen, n]
  return n === 0 ? [] : bounds.slice(1).map((end, i) => [bounds[i]!, end] as const)
}

/** A part of a sampling: its states, samples a state, random stream and options (as data: a helper thread takes it). */
export interface Part {
  readonly requests: ReadonlyArray<ModelSample.StateRequest>
  readonly k: number
  readonly seed: number
  readonly options: ModelSample.Options
}

/** The sampling of `requests` cut into at most `count` parts (`plan`), part g drawing from the stream `seedOf(g)`. Pure. */
export const parts = (
  requests: ReadonlyArray<ModelSample.StateRequest>,
  count: number,
  k: number,
  options: ModelSample.Options,
  seedOf: (part: number) => number
): Array<Part> =>
  plan(requests.map((r) => r.trajectory), count).map(([start, end], g) => ({ requests: requests.slice(start, end), k, seed: seedOf(g), options }))

/** A part's actions under `m`: the same code on the learner and on a helper thread. */
export const sample = (m: Transformer.Model, part: Part): ModelSample.StateSamples =>
  ModelSample.states(m, part.requests, part.k, Rng.make(part.seed), part.options)
