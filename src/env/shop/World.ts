import type { Split } from "../../domain/TaskId.ts"
import * as Catalogue from "./Catalogue.ts"
import * as Goal from "./Goal.ts"
import * as Page from "./Page.ts"
import * as Search from "./Search.ts"

/**
 * Everything a seed generates, built on first use and shared by every episode of a simulator:
 * the catalogue, the task sets, the search index (and its query cache) and the rendered item pages.
 */
export interface World {
  readonly seed: number
  readonly catalogue: () => Catalogue.Catalogue
  readonly tasks: () => Goal.Tasks
  readonly goal: (split: Split, index: number) => Goal.Goal
  readonly search: Search.Search
  /** A results page of a search, rendered once. `page` counts from 1. */
  readonly resultsPage: (results: Search.Results, page: number) => string
  /** A product's item page, rendered once. */
  readonly itemPage: (id: number) => string
}

const lazy = <A>(f: () => A): () => A => {
  let value: A | undefined
  return () => (value ??= f())
}

export const make = (seed: number): World => {
  const catalogue = lazy(() => Catalogue.generate(seed))
  const tasks = lazy(() => Goal.generate(seed, catalogue()))
  const items: Array<string | undefined> = []
  return {
    seed,
    catalogue,
    tasks,
    goal: (split, index) => tasks()[split][index]!,
    search: Search.make(catalogue),
    resultsPage: (results, page) => {
      const cached = results.pages[page - 1]
      if (cached !== undefined) return cached
      const products = catalogue().products
      const ids = results.ids.slice((page - 1) * Search.perPage, page * Search.perPage)
      const text = Page.results(page, results.ids.length, ids.map((i) => products[i]!))
      results.pages[page - 1] = text
      return text
    },
    itemPage: (id) => (items[id] ??= Page.item(catalogue().products[id]!))
  }
}
