import * as Rng from "../model/Rng.ts"
import * as Hash from "../random/Hash.ts"

/**
 * Where a stage runs: the run's seed and the iteration (0 for a one-off stage such as SFT or evaluation).
 * Every random stream a stage draws from is derived from these and the stream's name, never from the
 * clock or Math.random, so that a stage re-run (or resumed) at the same iteration draws the same numbers.
 */
export interface Run {
  readonly seed: number
  readonly iteration: number
}

/** The seed of a named random stream: a hash of (seed, iteration, name, index). */
export const streamSeed = (run: Run, name: string, index = 0): number => {
  const mix = Hash.fmix32
  return mix(mix(mix(Hash.fnv1a(name) ^ mix(run.seed >>> 0)) ^ mix(run.iteration >>> 0)) ^ mix(index >>> 0)) | 0
}

/** A generator for a named stream of the run (e.g. `sample`, `ppo/shuffle`), optionally per batch index. */
export const rng = (run: Run, name: string, index = 0): Rng.Rng => Rng.make(streamSeed(run, name, index))

/** A Fisher-Yates permutation of 0..n-1 drawn from `rng`. */
export const permutation = (rng: Rng.Rng, n: number): Int32Array => {
  const p = Int32Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Rng.uniform(rng) * (i + 1))
    const t = p[i]!
    p[i] = p[j]!
    p[j] = t
  }
  return p
}

/**
 * A permutation that keeps the items of a group together: the groups in a random order (a Fisher-Yates
 * permutation of them), each group's items in their own order. `group[i]` names item i's group. Minibatches cut
 * from it hold whole trajectories, so their packed passes share trunks (`Packed.pack`).
 */
export const groupedPermutation = (rng: Rng.Rng, group: ReadonlyArray<unknown>): Int32Array => {
  const ids = new Map<unknown, Array<number>>()
  group.forEach((g, i) => {
    const list = ids.get(g)
    if (list === undefined) ids.set(g, [i])
    else list.push(i)
  })
  const lists = [...ids.values()]
  return Int32Array.from(Array.from(permutation(rng, lists.length)).flatMap((k) => lists[k]!))
}
