import type * as Tokenized from "../domain/Tokenized.ts"

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
