/**
 * A small seeded pseudo-random generator (mulberry32) and a string hash (FNV-1a) to derive
 * independent sub-seeds: every random choice of the qa world comes from here, so a seed fixes it all.
 */

export interface Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Uniform integer in [0, n). */
  readonly int: (n: number) => number
  /** Uniform integer in [lo, hi] (both included). */
  readonly between: (lo: number, hi: number) => number
  readonly pick: <A>(xs: ReadonlyArray<A>) => A
  readonly chance: (p: number) => boolean
}

/** FNV-1a over the parts joined by "/": a 32-bit unsigned sub-seed or bucket. */
export const hash = (...parts: ReadonlyArray<string | number>): number => {
  const s = parts.join("/")
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
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
    chance: (p) => next() < p
  }
}

/** Fisher-Yates shuffle into a new array. */
export const shuffle = <A>(rng: Rng, xs: ReadonlyArray<A>): Array<A> => {
  const out = xs.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = out[i]!
    out[i] = out[j]!
    out[j] = t
  }
  return out
}
