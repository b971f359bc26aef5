import * as House from "./house/House.ts"
import * as Qa from "./qa/Qa.ts"
import * as Shop from "./shop/Shop.ts"
import type { Simulator } from "./Simulator.ts"

/** The built-in environments by name. */
export const names = ["shop", "house", "qa"] as const
export type Name = typeof names[number]

export const isName = (s: string): s is Name => (names as ReadonlyArray<string>).includes(s)

/**
 * How a built-in environment's scripted expert acts: `direct` (the default) or `explore`, which only shop has (its
 * direct expert knows which product to click from the catalogue; house's expert already searches, and qa's acts on
 * what its searches return).
 */
export const expertStyles = ["direct", "explore"] as const
export type ExpertStyle = typeof expertStyles[number]

/** The environments whose expert can explore. */
export const exploring: ReadonlyArray<Name> = ["shop"]

/** A built-in environment's simulator for a world seed (the catalogue, houses or knowledge base it generates). */
export const make = (name: Name, seed: number, expert: ExpertStyle = "direct"): Simulator => {
  switch (name) {
    case "shop":
      return Shop.make({ seed, expert })
    case "house":
      return House.make({ seed })
    case "qa":
      return Qa.make({ seed })
  }
}
