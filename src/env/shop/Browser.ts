import type { Episode, StepResult } from "../Env.ts"
import type { SimEpisode } from "../Simulator.ts"
import * as Action from "./Action.ts"
import type { Product } from "./Catalogue.ts"
import type { Goal } from "./Goal.ts"
import * as Page from "./Page.ts"
import * as Reward from "./Reward.ts"
import type { Results } from "./Search.ts"
import { perPage } from "./Search.ts"
import type { World } from "./World.ts"

/** The search page's one valid action, as a template. */
export const searchTemplate = "search[<keywords>]"

/** Which page an episode is on, with what led there. */
export type Where =
  | { readonly _tag: "search" }
  | { readonly _tag: "results"; readonly results: Results; readonly page: number }
  | { readonly _tag: "item"; readonly results: Results; readonly page: number; readonly product: Product }
  | { readonly _tag: "sub"; readonly results: Results; readonly page: number; readonly product: Product; readonly which: Page.SubPage }
  | { readonly _tag: "done" }

const searchPage: Where = { _tag: "search" }

/** What an episode has reached, for an expert that acts from any state (src/env/shop/Replan.ts). */
export interface View {
  readonly where: Where
  /** Option group -> the value selected on the current product (cleared when a product is clicked). */
  readonly chosen: ReadonlyMap<string, string>
  /** The episode has ended: bought, or out of steps. */
  readonly over: boolean
}

/** A running episode with a view of its page. */
export interface Session extends SimEpisode {
  readonly view: () => View
}

/**
 * One episode of the simulated browser (WebShop's SimBrowser + SimServer for one session).
 * Search works on the search page only (the page with the search bar); a click works when its
 * label, compared without case, is a clickable of the current page. Anything else answers
 * `Invalid action!`, leaves the page as it was and counts as a step. The purchase on `Buy Now`
 * ends the episode with WebShop's score; reaching `maxSteps` ends it with reward 0. Steps after
 * the end repeat the last answer.
 */
export const start = (world: World, taskId: string, goal: Goal, instruction: string, maxSteps: number): Session => {
  const products = world.catalogue().products
  const first = Page.search(goal.text)
  let where: Where = searchPage
  const chosen = new Map<string, string>()
  let steps = 0
  let last: StepResult | undefined

  const onPage = (results: Results, page: number): ReadonlyArray<number> => results.ids.slice((page - 1) * perPage, page * perPage)

  const click = (label: string): string => {
    const l = label.toLowerCase()
    switch (where._tag) {
      case "search":
      case "done":
        return Page.invalid
      case "results": {
        const { results, page } = where
        if (l === "back to search") {
          where = searchPage
          return first
        }
        if (l === "next >" && page * perPage < results.ids.length) {
          where = { _tag: "results", results, page: page + 1 }
          return world.resultsPage(results, page + 1)
        }
        if (l === "< prev" && page > 1) {
          where = { _tag: "results", results, page: page - 1 }
          return world.resultsPage(results, page - 1)
        }
        const upper = label.toUpperCase()
        for (const id of onPage(results, page)) {
          const product = products[id]!
          if (product.asin === upper) {
            chosen.clear()
            where = { _tag: "item", results, page, product }
            return world.itemPage(id)
          }
        }
        return Page.invalid
      }
      case "item": {
        const { results, page, product } = where
        if (l === "back to search") {
          where = searchPage
          return first
        }
        if (l === "< prev") {
          where = { _tag: "results", results, page }
          return world.resultsPage(results, page)
        }
        if (l === "buy now") {
          const reward = Reward.score(product, [...chosen.values()], goal).reward
          const text = Page.done(product.asin, chosen, reward)
          where = { _tag: "done" }
          last = { observation: text, reward, done: true }
          return text
        }
        for (const which of Page.subPages) {
          if (l === which.toLowerCase()) {
            where = { _tag: "sub", results, page, product, which }
            return Page.sub(product, which)
          }
        }
        for (const o of product.options) {
          for (const v of o.values) {
            if (v === l) {
              chosen.set(o.name, v)
              return world.itemPage(product.id)
            }
          }
        }
        return Page.invalid
      }
      case "sub": {
        const { results, page, product } = where
        if (l === "back to search") {
          where = searchPage
          return first
        }
        if (l === "< prev") {
          where = { _tag: "item", results, page, product }
          return world.itemPage(product.id)
        }
        return Page.invalid
      }
    }
  }

  const act = (text: string): string => {
    const action = Action.parse(text)
    if (action === undefined) return Page.invalid
    if (action._tag === "click") return click(action.label)
    if (where._tag !== "search") return Page.invalid
    const results = world.search.run(action.query)
    where = { _tag: "results", results, page: 1 }
    return world.resultsPage(results, 1)
  }

  const episode: Episode = { taskId, instruction, observation: first, maxSteps }
  return {
    episode,
    view: () => ({ where, chosen, over: last !== undefined }),
    step: (text) => {
      if (last !== undefined) return last
      steps++
      const observation = act(text)
      if (last !== undefined) return last
      if (steps >= maxSteps) {
        last = { observation, reward: 0, done: true }
        return last
      }
      return { observation, reward: 0, done: false }
    },
    validActions: () => {
      switch (where._tag) {
        case "search":
          return [searchTemplate]
        case "done":
          return []
        case "results": {
          const { results, page } = where
          const out = [`click[${Page.backToSearch}]`]
          if (page > 1) out.push(`click[${Page.prevPage}]`)
          if (page * perPage < results.ids.length) out.push(`click[${Page.nextPage}]`)
          for (const id of onPage(results, page)) out.push(`click[${products[id]!.asin}]`)
          return out
        }
        case "item": {
          const out = [`click[${Page.backToSearch}]`, `click[${Page.prevPage}]`]
          for (const o of where.product.options) for (const v of o.values) out.push(`click[${v}]`)
          for (const s of Page.subPages) out.push(`click[${s}]`)
          out.push(`click[${Page.buyNow}]`)
          return out
        }
        case "sub":
          return [`click[${Page.backToSearch}]`, `click[${Page.prevPage}]`]
      }
    }
  }
}
