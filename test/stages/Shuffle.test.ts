import { fc, it as prop } from "@fast-check/vitest"
import { Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import * as Run from "../../src/stages/Run.ts"
import * as Shuffle from "../../src/stages/Shuffle.ts"

// seeds go through Run.rng, as in the runner (consecutive raw xoroshiro seeds give correlated first draws)
const run = (xs: ReadonlyArray<number>, size: number, seed: number): Array<number> =>
  Array.from(Effect.runSync(Stream.runCollect(Stream.fromIterable(xs).pipe(Shuffle.buffer(size, Run.rng({ seed, iteration: 0 }, "sft/shuffle"))))))

describe("Shuffle.buffer", () => {
  prop.prop([fc.array(fc.integer(), { maxLength: 200 }), fc.integer({ min: 1, max: 300 }), fc.integer()], { seed: 3, numRuns: 200 })(
    "emits every element exactly once, and the same order for the same seed",
    (xs, size, seed) => {
      const out = run(xs, size, seed)
      expect([...out].sort((a, b) => a - b)).toEqual([...xs].sort((a, b) => a - b))
      expect(run(xs, size, seed)).toEqual(out)
    }
  )
  it("gives another order for another seed (a new order every epoch)", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i)
    expect(run(xs, 1000, 1)).not.toEqual(run(xs, 1000, 2))
    expect(run(xs, 1000, 1)).not.toEqual(xs)
  })
  it("with a buffer as large as the stream, every position is uniform (first element lands anywhere)", () => {
    const xs = Array.from({ length: 10 }, (_, i) => i)
    const counts = new Array<number>(10).fill(0)
    for (let seed = 0; seed < 2000; seed++) counts[run(xs, 10, seed).indexOf(0)]!++
    for (const c of counts) expect(c).toBeGreaterThan(140) // 200 expected per position
  })
})
