import { assert, describe } from "@effect/vitest"
import { fc, it as prop } from "@fast-check/vitest"
import * as Hash from "../../src/random/Hash.ts"
import * as Rng from "../../src/random/Rng.ts"
import * as Run from "../../src/stages/Run.ts"

/**
 * src/random replaced three mulberry32 generators with their hashes (src/env/{house,qa,shop}/Rng.ts) and
 * the hash of src/stages/Run.ts. The shipped data regenerates byte for byte (test/data/ShippedData.test.ts),
 * but that covers three seeds: here the unified generator and hashes equal the old code, kept below as the
 * reference, for any seed, label and sequence of draws.
 */

// ---------------------------------------------------------------------------------------------------
// The old implementations, verbatim but for names

/** src/env/house/Rng.ts */
const houseHash = (...parts: ReadonlyArray<string | number>): number => {
  let h = 0x811c9dc5
  for (const part of parts) {
    const s = String(part)
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i)
      h = Math.imul(h, 0x01000193)
    }
    h ^= 0x1f
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

class HouseRng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }
  pick<A>(items: ReadonlyArray<A>): A {
    return items[this.int(items.length)]!
  }
  weighted(weights: ReadonlyArray<number>): number {
    let total = 0
    for (const w of weights) total += w
    let r = this.next() * total
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!
      if (r < 0) return i
    }
    return weights.length - 1
  }
  shuffle<A>(items: ReadonlyArray<A>): Array<A> {
    const out = items.slice()
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = out[i]!
      out[i] = out[j]!
      out[j] = t
    }
    return out
  }
}

/** src/env/qa/Rng.ts */
const qaHash = (...parts: ReadonlyArray<string | number>): number => {
  const s = parts.join("/")
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const qaMake = (seed: number) => {
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
    between: (lo: number, hi: number) => lo + int(hi - lo + 1),
    pick: <A>(xs: ReadonlyArray<A>): A => {
      if (xs.length === 0) throw new Error("Rng.pick: empty list")
      return xs[int(xs.length)]!
    },
    chance: (p: number) => next() < p
  }
}

const qaShuffle = <A>(rng: { readonly int: (n: number) => number }, xs: ReadonlyArray<A>): Array<A> => {
  const out = xs.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = out[i]!
    out[i] = out[j]!
    out[j] = t
  }
  return out
}

/** src/env/shop/Rng.ts */
const shopHash = (seed: number, label: string): number => {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

interface ShopRng {
  readonly float: () => number
  readonly int: (n: number) => number
}

const shopMake = (seed: number, label: string): ShopRng => {
  let state = shopHash(seed, label)
  const float = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { float, int: (n) => Math.floor(float() * n) }
}

const shopPick = <A>(rng: ShopRng, xs: ReadonlyArray<A>): A => xs[rng.int(xs.length)]!

const shopSample = <A>(rng: ShopRng, xs: ReadonlyArray<A>, k: number): Array<A> => {
  const idx = xs.map((_, i) => i)
  for (let i = idx.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = idx[i]!
    idx[i] = idx[j]!
    idx[j] = t
  }
  return idx.slice(0, Math.min(k, xs.length)).sort((a, b) => a - b).map((i) => xs[i]!)
}

const shopBetween = (rng: ShopRng, lo: number, hi: number): number => lo + rng.int(hi - lo + 1)

/** src/stages/Run.ts */
const runFnv = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const runMix = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const runStreamSeed = (run: Run.Run, name: string, index = 0): number =>
  runMix(runMix(runMix(runFnv(name) ^ runMix(run.seed >>> 0)) ^ runMix(run.iteration >>> 0)) ^ runMix(index >>> 0)) | 0

// ---------------------------------------------------------------------------------------------------
// Equality on random inputs

// Seeds as callers pass them: any int32 or uint32, and a few non-integers (>>> 0 truncates them alike).
const seed = fc.oneof(fc.integer(), fc.nat({ max: 0xffffffff }), fc.double({ min: -1e10, max: 1e10, noNaN: true }))
// UTF-16 code units, lone surrogates included: the hashes read charCodeAt.
const label = fc.string({ unit: "binary", maxLength: 24 })
const part = fc.oneof(label, fc.integer({ min: -1000, max: 100_000 }))
const items = fc.array(fc.integer(), { minLength: 1, maxLength: 12 })

/** One draw, applied alike to the new generator and an old one's corresponding call. */
type Draw =
  | { readonly op: "next" }
  | { readonly op: "int"; readonly n: number }
  | { readonly op: "between"; readonly lo: number; readonly span: number }
  | { readonly op: "pick"; readonly xs: ReadonlyArray<number> }
  | { readonly op: "chance"; readonly p: number }
  | { readonly op: "weighted"; readonly ws: ReadonlyArray<number> }
  | { readonly op: "shuffle"; readonly xs: ReadonlyArray<number> }
  | { readonly op: "sample"; readonly xs: ReadonlyArray<number>; readonly k: number }

const draw: fc.Arbitrary<Draw> = fc.oneof(
  fc.constant({ op: "next" as const }),
  fc.record({ op: fc.constant("int" as const), n: fc.integer({ min: 1, max: 1000 }) }),
  fc.record({ op: fc.constant("between" as const), lo: fc.integer({ min: -50, max: 50 }), span: fc.nat(20) }),
  fc.record({ op: fc.constant("pick" as const), xs: items }),
  fc.record({ op: fc.constant("chance" as const), p: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ op: fc.constant("weighted" as const), ws: fc.array(fc.double({ min: 0.01, max: 10, noNaN: true }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant("shuffle" as const), xs: fc.array(fc.integer(), { maxLength: 12 }) }),
  fc.record({ op: fc.constant("sample" as const), xs: fc.array(fc.integer(), { maxLength: 12 }), k: fc.nat(14) })
)
const draws = fc.array(draw, { maxLength: 40 })

const onNew = (rng: Rng.Rng, d: Draw): unknown => {
  switch (d.op) {
    case "next": return rng.next()
    case "int": return rng.int(d.n)
    case "between": return rng.between(d.lo, d.lo + d.span)
    case "pick": return rng.pick(d.xs)
    case "chance": return rng.chance(d.p)
    case "weighted": return rng.weighted(d.ws)
    case "shuffle": return rng.shuffle(d.xs)
    case "sample": return rng.sample(d.xs, d.k)
  }
}

/** The draws each old generator had, as it was called (a function for each `Draw` it supports). */
type Old = Partial<{ readonly [K in Draw["op"]]: (d: Extract<Draw, { op: K }>) => unknown }>

const house = (rng: HouseRng): Old => ({
  next: () => rng.next(),
  int: (d) => rng.int(d.n),
  between: (d) => rng.between(d.lo, d.lo + d.span),
  pick: (d) => rng.pick(d.xs),
  weighted: (d) => rng.weighted(d.ws),
  shuffle: (d) => rng.shuffle(d.xs)
})

const qa = (rng: ReturnType<typeof qaMake>): Old => ({
  next: () => rng.next(),
  int: (d) => rng.int(d.n),
  between: (d) => rng.between(d.lo, d.lo + d.span),
  pick: (d) => rng.pick(d.xs),
  chance: (d) => rng.chance(d.p),
  shuffle: (d) => qaShuffle(rng, d.xs)
})

const shop = (rng: ShopRng): Old => ({
  next: () => rng.float(),
  int: (d) => rng.int(d.n),
  between: (d) => shopBetween(rng, d.lo, d.lo + d.span),
  pick: (d) => shopPick(rng, d.xs),
  sample: (d) => shopSample(rng, d.xs, d.k)
})

/** Applies the draws the old generator supports to both, in order: every result is equal. */
const same = (rng: Rng.Rng, old: Old, ds: ReadonlyArray<Draw>): void => {
  for (const d of ds) {
    const f = old[d.op] as ((d: Draw) => unknown) | undefined
    if (f !== undefined) assert.deepStrictEqual(onNew(rng, d), f(d), d.op)
  }
}

const params = { numRuns: 300, seed: 13 }

describe("src/random equals the generators and hashes it replaced", () => {
  prop.prop([fc.array(part, { maxLength: 6 })], params)("house: Hash.parts", (xs) => {
    assert.strictEqual(Hash.parts(...xs), houseHash(...xs))
  })
  prop.prop([fc.array(part, { maxLength: 6 })], params)("qa: Hash.joined", (xs) => {
    assert.strictEqual(Hash.joined(...xs), qaHash(...xs))
  })
  prop.prop([seed, label], params)("shop: Hash.labelled", (s, l) => {
    assert.strictEqual(Hash.labelled(s, l), shopHash(s, l))
  })
  prop.prop([fc.record({ seed: fc.integer(), iteration: fc.nat() }), label, fc.nat(10_000)], params)("stages: Run.streamSeed", (run, name, index) => {
    assert.strictEqual(Run.streamSeed(run, name, index), runStreamSeed(run, name, index))
  })

  prop.prop([seed, draws], params)("house: the same draws from Rng.make(seed)", (s, ds) => {
    same(Rng.make(s), house(new HouseRng(s)), ds)
  })
  prop.prop([seed, draws], params)("qa: the same draws from Rng.make(seed)", (s, ds) => {
    same(Rng.make(s), qa(qaMake(s)), ds)
  })
  prop.prop([seed, label, draws], params)("shop: the same draws from Rng.make(Hash.labelled(seed, label))", (s, l, ds) => {
    same(Rng.make(Hash.labelled(s, l)), shop(shopMake(s, l)), ds)
  })
})
