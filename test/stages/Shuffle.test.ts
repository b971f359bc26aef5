import { describe, expect, it } from "@effect/vitest"
import { fc, it as prop } from "@fast-check/vitest"
import { Effect, Stream } from "effect"
import * as Run from "../../src/stages/Run.ts"
import * as Shuffle from "../../src/stages/Shuffle.ts"

// seeds go through Run.rng, as in the runner (consecutive raw xoroshiro seeds give correlated first draws)
const shuffled = (xs: ReadonlyArray<number>, size: number, seed: number): Effect.Effect<Array<number>> =>
  Stream.runCollect(Stream.fromIterable(xs).pipe(Shuffle.buffer(size, Run.rng({ seed, iteration: 0 }, "sft/shuffle")))).pipe(Effect.map((c) => Array.from(c)))

describe("Shuffle.buffer", () => {
  // A fast-check property (fast-check generators, so not it.effect.prop): the synchronous shuffle runs at its edge.
  prop.prop([fc.array(fc.integer(), { maxLength: 200 }), fc.integer({ min: 1, max: 300 }), fc.integer()], { seed: 3, numRuns: 200 })(
    "emits every element exactly once, and the same order for the same seed",
    (xs, size, seed) => {
      const out = Effect.runSync(shuffled(xs, size, seed))
      expect([...out].sort((a, b) => a - b)).toEqual([...xs].sort((a, b) => a - b))
      expect(Effect.runSync(shuffled(xs, size, seed))).toEqual(out)
    }
  )
  it.effect("gives another order for another seed (a new order every epoch)", () =>
    Effect.gen(function*() {
      const xs = Array.from({ length: 100 }, (_, i) => i)
      expect(yield* shuffled(xs, 1000, 1)).not.toEqual(yield* shuffled(xs, 1000, 2))
      expect(yield* shuffled(xs, 1000, 1)).not.toEqual(xs)
    }))
  it.effect("with a buffer as large as the stream, every position is uniform (first element lands anywhere)", () =>
    Effect.gen(function*() {
      const xs = Array.from({ length: 10 }, (_, i) => i)
      const counts = new Array<number>(10).fill(0)
      for (let seed = 0; seed < 2000; seed++) counts[(yield* shuffled(xs, 10, seed)).indexOf(0)]!++
      for (const c of counts) expect(c).toBeGreaterThan(140) // 200 expected per position
    }))
})
