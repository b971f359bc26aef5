import type { Product } from "./Catalogue.ts"
import type { Goal } from "./Goal.ts"
import * as Reward from "./Reward.ts"
import { perPage } from "./Search.ts"
import * as Taxonomy from "./Taxonomy.ts"
import type { World } from "./World.ts"

/** The expert's plan for a goal: actions with one short thought each. */
export interface Plan {
  readonly actions: ReadonlyArray<string>
  readonly thoughts: ReadonlyArray<string>
}

/** The query a shopper would type from the instruction: attributes, the product noun, the wanted option values. */
export const query = (goal: Goal): string =>
  [...goal.attributes, Taxonomy.types[goal.type]!.noun, ...goal.options].join(" ")

/** The option values to click on a product to meet the goal, in the product's group order; undefined when it lacks one. */
const selection = (product: Product, goal: Goal): ReadonlyArray<string> | undefined => {
  const out: Array<string> = []
  for (const o of product.options) {
    const v = o.values.find((x) => goal.options.includes(x))
    if (v !== undefined) out.push(v)
  }
  return out.length === goal.options.length ? out : undefined
}

/** The option values to click on a product so that buying it scores 1; undefined when no selection does. */
export const satisfying = (product: Product, goal: Goal): ReadonlyArray<string> | undefined => {
  const picks = selection(product, goal)
  return picks !== undefined && Reward.score(product, picks, goal).reward === 1 ? picks : undefined
}

/** The first result (by rank) that scores 1 with the wanted options selected, and its rank. */
const firstMatch = (world: World, q: string, goal: Goal): { readonly rank: number; readonly product: Product; readonly picks: ReadonlyArray<string> } | undefined => {
  const products = world.catalogue().products
  const ids = world.search.run(q).ids
  for (let rank = 0; rank < ids.length; rank++) {
    const product = products[ids[rank]!]!
    const picks = satisfying(product, goal)
    if (picks !== undefined) return { rank, product, picks }
  }
  return undefined
}

/**
 * The scripted expert: search with the query the instruction suggests, page on until the first
 * result that fully satisfies the goal (the target, or an equally good product ranked above it),
 * click it, select the wanted options, buy. When no satisfying product is among the top results of
 * that query (rare), it searches with the target's title instead, which ranks the target first.
 */
export const plan = (world: World, goal: Goal): Plan => {
  const target = world.catalogue().byAsin.get(goal.asin)!
  const type = Taxonomy.types[goal.type]!
  let q = query(goal)
  let found = firstMatch(world, q, goal)
  if (found === undefined) {
    q = target.title.toLowerCase()
    found = firstMatch(world, q, goal)
  }
  if (found === undefined) throw new Error(`shop: the expert found no product for goal ${goal.asin}`)
  const actions: Array<string> = [`search[${q}]`]
  const thoughts: Array<string> = [`I think I should search for ${Taxonomy.withArticle(type.plural, type.noun)} with the features I need.`]
  const page = Math.floor(found.rank / perPage)
  for (let i = 0; i < page; i++) {
    actions.push("click[Next >]")
    thoughts.push("I think no product on this page matches what I need, so I should check the next page.")
  }
  actions.push(`click[${found.product.asin}]`)
  thoughts.push(`I think ${found.product.asin} matches what I need and costs $${found.product.price.toFixed(2)}, under the price limit, so I should click it.`)
  for (const v of found.picks) {
    const group = found.product.options.find((o) => o.values.includes(v))!.name
    actions.push(`click[${v}]`)
    thoughts.push(`I think I should click on '${v}' to select the ${group} I need.`)
  }
  actions.push("click[Buy Now]")
  thoughts.push("I think the product now meets every requirement, so I should click on 'Buy Now'.")
  return { actions, thoughts }
}

/** How the scripted expert finds its product: `direct` knows it from the catalogue; `explore` looks, as a shopper does. */
export const styles = ["direct", "explore"] as const
export type Style = typeof styles[number]

/**
 * The exploring expert: the same query, then the results under the price limit in rank order, page after page; each
 * is clicked, and its item page decides: when it offers every wanted option value, they are selected and it is
 * bought; when it does not, `< Prev` goes back to the results. Every choice follows from what the pages show, where
 * the direct expert's first click follows from the catalogue (from the results page alone the direct expert's product
 * is the top result in a third of the tasks: pipelines/shop-heuristics.ts). A product that offers the options but
 * misses an attribute the instruction asks for (its bullet points say so, not its pages' first lines) is passed over
 * too, so the plan ends with reward 1. When the exploration would not fit in `maxSteps` actions, the direct plan.
 */
export const planExplore = (world: World, goal: Goal, maxSteps: number): Plan => explored(world, goal, maxSteps) ?? plan(world, goal)

/** The exploring expert's plan, undefined when it would not fit in `maxSteps` actions (planExplore then takes the direct one). */
export const explored = (world: World, goal: Goal, maxSteps: number): Plan | undefined => {
  const direct = plan(world, goal)
  const q = direct.actions[0]!.slice("search[".length, -1)
  const products = world.catalogue().products
  const ids = world.search.run(q).ids
  const type = Taxonomy.types[goal.type]!
  const actions: Array<string> = [direct.actions[0]!]
  const thoughts: Array<string> = [direct.thoughts[0]!]
  for (let page = 0; page * perPage < ids.length; page++) {
    if (page > 0) {
      actions.push("click[Next >]")
      thoughts.push("I think none of the products on this page that I have not checked fits my price limit, so I should check the next page.")
    }
    for (const id of ids.slice(page * perPage, (page + 1) * perPage)) {
      const product = products[id]!
      if (product.price > goal.priceUpper) continue
      actions.push(`click[${product.asin}]`)
      thoughts.push(`I think ${product.asin} may be the ${type.noun} I need and costs $${product.price.toFixed(2)}, under the price limit, so I should look at it.`)
      const picks = satisfying(product, goal)
      if (picks !== undefined) {
        for (const v of picks) {
          const group = product.options.find((o) => o.values.includes(v))!.name
          actions.push(`click[${v}]`)
          thoughts.push(`I think I should click on '${v}' to select the ${group} I need.`)
        }
        actions.push("click[Buy Now]")
        thoughts.push("I think the product now meets every requirement, so I should click on 'Buy Now'.")
        return actions.length <= maxSteps ? { actions, thoughts } : undefined
      }
      actions.push("click[< Prev]")
      thoughts.push(`I think ${product.asin} does not offer everything I need, so I should go back to the results.`)
      if (actions.length >= maxSteps) return undefined
    }
  }
  return undefined
}
