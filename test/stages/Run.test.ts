import { describe, expect, it } from "vitest"
import * as Run from "../../src/stages/Run.ts"

describe("configs", () => {
  it("derives independent, reproducible random streams from (seed, iteration, name)", () => {
    const draw = (r: ReturnType<typeof Run.rng>) => Array.from(Run.permutation(r, 10))
    expect(draw(Run.rng({ seed: 1, iteration: 0 }, "ppo"))).toEqual(draw(Run.rng({ seed: 1, iteration: 0 }, "ppo")))
    expect(draw(Run.rng({ seed: 1, iteration: 0 }, "ppo"))).not.toEqual(draw(Run.rng({ seed: 1, iteration: 1 }, "ppo")))
    expect(draw(Run.rng({ seed: 1, iteration: 0 }, "ppo"))).not.toEqual(draw(Run.rng({ seed: 1, iteration: 0 }, "sample")))
    expect(draw(Run.rng({ seed: 1, iteration: 0 }, "ppo"))).not.toEqual(draw(Run.rng({ seed: 2, iteration: 0 }, "ppo")))
  })
})
