/**
 * The environments' seeded generator: mulberry32 (32-bit state, fast, no allocation a draw), seeded with
 * a hash of a seed and a label (src/random/Hash.ts). Every random choice of the built-in worlds (shop,
 * house, qa) comes from one of these, so a seed fixes a world; the draws below are the ones the shipped
 * data was generated with (data/generate.sh regenerates it byte for byte), so none may change.
 * (The model and the stages draw from src/model/Rng.ts, xoroshiro128+ with a state checkpoints can save.)
 */

export interface Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Uniform integer in [0, n). */
  readonly int: (n: number) => number
  /** Uniform integer in [lo, hi] (both included). */
  readonly between: (lo: number, hi: number) => number
  /** A uniform element; an empty list is an error (nothing is drawn). */
  readonly pick: <A>(xs: ReadonlyArray<A>) => A
  /** True with probability `p`. */
  readonly chance: (p: number) => boolean
  /** An index drawn with probability proportional to its weight (weights > 0 somewhere). */
  readonly weighted: (weights: ReadonlyArray<number>) => number
  /** A shuffled copy (Fisher-Yates, from the last element down). */
  readonly shuffle: <A>(xs: ReadonlyArray<A>) => Array<A>
  /** `k` distinct elements (all when `k` exceeds them), kept in their original order. */
  readonly sample: <A>(xs: ReadonlyArray<A>, k: number) => Array<A>
}

/** Swaps the elements of `xs` into a Fisher-Yates order drawn with `int`, in place. */
const shuffleInPlace = <A>(int: (n: number) => number, xs: Array<A>): void => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = int(i + 1)
    const t = xs[i]!
    xs[i] = xs[j]!
    xs[j] = t
  }
}

export const make = (seed: number): Rng => {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return {
    next,
    int,
    between: (lo, hi) => lo + int(hi - lo + 1),
    pick: <A>(xs: ReadonlyArray<A>): A => {
      if (xs.length === 0) throw new Error("Rng.pick: empty list")
      return xs[int(xs.length)]!
    },
    chance: (p) => next() < p,
    weighted: (weights) => {
      let total = 0
      for (const w of weights) total += w
      let r = next() * total
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i]!
        if (r < 0) return i
      }
      return weights.length - 1
    },
    shuffle: <A>(xs: ReadonlyArray<A>): Array<A> => {
      const out = xs.slice()
      shuffleInPlace(int, out)
      return out
    },
    sample: <A>(xs: ReadonlyArray<A>, k: number): Array<A> => {
      const idx = xs.map((_, i) => i)
      shuffleInPlace(int, idx)
      return idx.slice(0, Math.min(k, xs.length)).sort((a, b) => a - b).map((i) => xs[i]!)
    }
  }
}
