/**
 * What a shop policy can reach from what it sees, against the scripted expert it imitates (docs/paper-table.md).
 * Not a pipeline: `node pipelines/shop-heuristics.ts [world seed, default 0] [split, default test]` prints one JSON
 * object over the split's first 500 goals, each policy scored by the environment's own reward (Reward.score):
 * - `firstResult`: search with the expert's query, click the top result, select the wanted option values it
 *   offers, buy (no exploration: one item page);
 * - `bestTitle`: the same, but click the result whose title holds the most of the goal's attributes (ties: rank),
 *   all the results page shows besides the price;
 * - `explore`: visit the results under the price limit in rank order, go back while the item page lacks a wanted
 *   option value, select and buy at the first that has them all (what a shopper does; never more than 10 visits);
 * - `expertRank`: where the expert's product is in the results. The expert picks the first product that scores 1
 *   with the options selected, which it knows from the catalogue: from the results page alone that is a guess.
 */
import * as Expert from "../src/env/shop/Expert.ts"
import type { Product } from "../src/env/shop/Catalogue.ts"
import type { Goal } from "../src/env/shop/Goal.ts"
import * as Reward from "../src/env/shop/Reward.ts"
import * as World from "../src/env/shop/World.ts"

const seed = Number(process.argv[2] ?? 0)
const split = process.argv[3] === "train" ? "train" : "test"
const world = World.make(seed)
const products = world.catalogue().products
const goals = world.tasks()[split].slice(0, 500)

/** The wanted option values a product offers, in its group order. */
const picks = (p: Product, g: Goal): Array<string> =>
  p.options.flatMap((o) => o.values.filter((v) => g.options.includes(v)).slice(0, 1))

const reward = (p: Product, g: Goal): number => Reward.score(p, picks(p, g), g).reward

const titleScore = (p: Product, g: Goal): number => {
  const title = Reward.words(p.title)
  return g.attributes.filter((a) => title.includes(Reward.words(a))).length
}

const tally = { firstResult: [0, 0], bestTitle: [0, 0], explore: [0, 0] }
let visits = 0
const expertRank: Record<string, number> = {}
for (const g of goals) {
  const ids = world.search.run(Expert.query(g)).ids
  const results = ids.slice(0, 10).map((i) => products[i]!)
  const add = (k: keyof typeof tally, r: number) => {
    tally[k][0]! += r === 1 ? 1 : 0
    tally[k][1]! += r
  }
  add("firstResult", reward(results[0]!, g))
  const best = results.reduce((b, p) => (titleScore(p, g) > titleScore(b, g) ? p : b), results[0]!)
  add("bestTitle", reward(best, g))
  let bought = 0
  for (const p of results.filter((x) => x.price <= g.priceUpper)) {
    visits++
    if (picks(p, g).length === g.options.length) {
      bought = reward(p, g)
      break
    }
  }
  add("explore", bought)
  const target = Expert.plan(world, g).actions.find((a) => /^click\[B0/.test(a))
  const rank = ids.findIndex((i) => `click[${products[i]!.asin}]` === target)
  const bucket = rank < 0 ? "other query" : rank >= 10 ? "10+" : String(rank)
  expertRank[bucket] = (expertRank[bucket] ?? 0) + 1
}
const rate = ([s, r]: Array<number>) => ({ success: s! / goals.length, avgReward: r! / goals.length })
console.log(JSON.stringify({
  world: seed,
  split,
  goals: goals.length,
  firstResult: rate(tally.firstResult),
  bestTitle: rate(tally.bestTitle),
  explore: { ...rate(tally.explore), visitsPerGoal: visits / goals.length },
  expertRank
}))
