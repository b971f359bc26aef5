import { xoroshiro128plus, xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus"
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64"
import type { JumpableRandomGenerator } from "pure-rand/types/JumpableRandomGenerator"

/**
 * The model's seeded random source, carried explicitly (never Math.random). It is mutable: every draw
 * advances it, and `state` / `fromState` save and restore it exactly (checkpoints store the state).
 * xoroshiro128+ from pure-rand: fast, 128-bit state, good enough for sampling and initialisation.
 */
export interface Rng {
  readonly generator: JumpableRandomGenerator
}

export const make = (seed: number): Rng => ({ generator: xoroshiro128plus(seed | 0) })

/** The state as plain numbers (JSON-safe). */
export const state = (rng: Rng): ReadonlyArray<number> => rng.generator.getState()

export const fromState = (s: ReadonlyArray<number>): Rng => ({ generator: xoroshiro128plusFromState(s) })

/** An independent copy: drawing from it does not advance `rng`. */
export const clone = (rng: Rng): Rng => ({ generator: rng.generator.clone() })

/** Uniform in [0, 1). */
export const uniform = (rng: Rng): number => uniformFloat64(rng.generator)

/** Standard normal (Box-Muller; one normal per two uniforms, the second is discarded for simplicity). */
export const normal = (rng: Rng): number => {
  const u1 = 1 - uniform(rng) // (0, 1]: log is finite
  const u2 = uniform(rng)
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
}

/** A new generator seeded from this one (for independent streams: weights of one tensor, a sampling call). */
export const split = (rng: Rng): Rng => make(rng.generator.next())
