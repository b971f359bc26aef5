/**
 * A small seeded PRNG (mulberry32) for the shop's generators: deterministic, fast, no allocation a draw.
 * Independent streams come from hashing a label with the seed, so adding draws to one generator never
 * shifts another's.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  readonly float: () => number
  /** Uniform integer in [0, n). */
  readonly int: (n: number) => number
}

/** FNV-1a over the label's UTF-16 code units, mixed with the seed. */
const hash = (seed: number, label: string): number => {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

export const make = (seed: number, label: string): Rng => {
  let state = hash(seed, label)
  const float = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { float, int: (n) => Math.floor(float() * n) }
}

export const pick = <A>(rng: Rng, xs: ReadonlyArray<A>): A => xs[rng.int(xs.length)]!

/** k distinct elements, kept in their original order. */
export const sample = <A>(rng: Rng, xs: ReadonlyArray<A>, k: number): Array<A> => {
  const idx = xs.map((_, i) => i)
  for (let i = idx.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = idx[i]!
    idx[i] = idx[j]!
    idx[j] = t
  }
  return idx.slice(0, Math.min(k, xs.length)).sort((a, b) => a - b).map((i) => xs[i]!)
}

/** Integer in [lo, hi] inclusive. */
export const between = (rng: Rng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1)
