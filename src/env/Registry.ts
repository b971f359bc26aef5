import * as House from "./house/House.ts"
import * as Qa from "./qa/Qa.ts"
import * as Shop from "./shop/Shop.ts"
import type { Simulator } from "./Simulator.ts"

/** The built-in environments by name. */
export const names = ["shop", "house", "qa"] as const
export type Name = typeof names[number]

export const isName = (s: string): s is Name => (names as ReadonlyArray<string>).includes(s)

/** A built-in environment's simulator for a world seed (the catalogue, houses or knowledge base it generates). */
export const make = (name: Name, seed: number): Simulator => {
  switch (name) {
    case "shop":
      return Shop.make({ seed })
    case "house":
      return House.make({ seed })
    case "qa":
      return Qa.make({ seed })
  }
}
