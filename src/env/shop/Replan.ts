/**
 * The shop expert as a policy: its next action from any page an episode reached, an agent's mistakes included, for
 * DAgger-style data (src/env/Relabel.ts). It acts as the scripted expert (Expert.ts) does. On the search page it
 * searches with the expert's query; on the results of another query it goes back to search (those results may hold
 * no product that satisfies the goal); on its own query's results it goes, a page at a time, to the product it would
 * click there; on an item page it selects the wanted option values not yet selected (correcting a wrong one) and buys
 * when the product satisfies the goal, and goes back otherwise; from a description, features or reviews page it goes
 * back. Which product it would click: the direct expert's is the first result that satisfies the goal (it knows the
 * catalogue); the exploring expert's is a product it has already looked at and found satisfying, else the first result
 * under the price limit it has not looked at (the products looked at are the episode's own item pages). From a fresh
 * episode it gives the expert's plan one action at a time (tested on every task of both splits).
 */
import type { View } from "./Browser.ts"
import * as Expert from "./Expert.ts"
import type { Goal } from "./Goal.ts"
import * as Page from "./Page.ts"
import { normalise, perPage } from "./Search.ts"
import type { World } from "./World.ts"

/** What the expert knows of a task before the episode: the goal and its plan's query and style. */
export interface Task {
  readonly goal: Goal
  /** The query of the expert's plan (the instruction's words, or the target's title when those find nothing). */
  readonly query: string
  /** Whether the expert explores (its exploration fits the step limit); else it clicks the direct expert's product. */
  readonly explores: boolean
}

/** Catalogue ids of the products whose item page the episode has shown. */
export type Looked = Set<number>

/** Records the product on view after an action. */
export const observe = (looked: Looked, view: View): void => {
  const w = view.where
  if (w._tag === "item" || w._tag === "sub") looked.add(w.product.id)
}

const click = (label: string): string => `click[${label}]`

/** The rank, in `ids`, of the product the expert would click on these results; undefined when none would do. */
const targetRank = (world: World, task: Task, ids: ReadonlyArray<number>, looked: Looked): number | undefined => {
  const products = world.catalogue().products
  const fits = (id: number) => Expert.satisfying(products[id]!, task.goal) !== undefined
  if (task.explores) {
    const known = ids.findIndex((id) => looked.has(id) && fits(id))
    if (known >= 0) return known
    const next = ids.findIndex((id) => !looked.has(id) && products[id]!.price <= task.goal.priceUpper)
    if (next >= 0) return next
  }
  const first = ids.findIndex(fits)
  return first >= 0 ? first : undefined
}

/** The expert's next action at `view`, undefined when the episode is over. */
export const next = (world: World, task: Task, view: View, looked: Looked): string | undefined => {
  if (view.over) return undefined
  const w = view.where
  switch (w._tag) {
    case "done":
      return undefined
    case "search":
      return `search[${task.query}]`
    case "sub":
      return click(Page.prevPage)
    case "item": {
      const picks = Expert.satisfying(w.product, task.goal)
      if (picks === undefined) return click(Page.prevPage)
      for (const v of picks) {
        const group = w.product.options.find((o) => o.values.includes(v))!.name
        if (view.chosen.get(group) !== v) return click(v)
      }
      return click(Page.buyNow)
    }
    case "results": {
      const rank = w.results.key === normalise(task.query) ? targetRank(world, task, w.results.ids, looked) : undefined
      if (rank === undefined) return click(Page.backToSearch)
      const page = Math.floor(rank / perPage) + 1
      if (page > w.page) return click(Page.nextPage)
      if (page < w.page) return click(Page.prevPage)
      return click(world.catalogue().products[w.results.ids[rank]!]!.asin)
    }
  }
}
