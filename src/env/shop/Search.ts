import MiniSearch from "minisearch"
import type { Catalogue } from "./Catalogue.ts"

/** WebShop returns the top 50 products of a search. */
export const topN = 50
/** Products on one results page, as in WebShop. */
export const perPage = 10
/** Query words kept: a longer query is cut (WebShop has no limit; this bounds the work of a huge action). */
const maxWords = 32
/** Characters of the argument looked at, before splitting into words (same reason). */
const maxChars = 512
/** Cached queries before the cache is emptied: bounds memory (~30 MB) while the repeated queries of rollouts hit. */
const maxCached = 10_000

/** A search's results; rendered pages are filled in lazily by the caller. */
export interface Results {
  readonly key: string
  /** Catalogue ids, best first, at most `topN`. */
  readonly ids: ReadonlyArray<number>
  readonly pages: Array<string | undefined>
}

export interface Search {
  readonly run: (query: string) => Results
}

/** The form of a query the engine sees and the cache is keyed by: lower case, words split on white space. */
export const normalise = (query: string): string =>
  query.slice(0, maxChars).toLowerCase().split(/\s+/).filter((w) => w !== "").slice(0, maxWords).join(" ")

interface Doc {
  readonly id: number
  readonly text: string
}

/** Words too common to rank by; dropping them also keeps each search's work small. */
const stopWords = new Set(["a", "an", "and", "the", "of", "for", "with", "in", "to", "on", "by", "i", "me", "need", "want", "looking", "price", "lower", "than", "dollars"])

/**
 * BM25 retrieval (minisearch, OR of the query words) over one text per product, as WebShop's
 * pyserini index has one `contents` field: the title, the attributes and the category's last level.
 * Option values are not indexed: colours and sizes match a large part of the catalogue, which made
 * every search score most products (3x slower) without ranking the right type higher. The index is
 * built on first use.
 */
export const make = (catalogue: () => Catalogue): Search => {
  let index: MiniSearch<Doc> | undefined
  const cache = new Map<string, Results>()
  const build = (): MiniSearch<Doc> => {
    const ms = new MiniSearch<Doc>({
      fields: ["text"],
      idField: "id",
      processTerm: (term) => {
        const t = term.toLowerCase()
        return stopWords.has(t) ? null : t
      }
    })
    ms.addAll(catalogue().products.map((p) => ({ id: p.id, text: `${p.title} ${p.attributes.join(" ")} ${p.category[p.category.length - 1] ?? ""}` })))
    return ms
  }
  return {
    run: (query) => {
      const key = normalise(query)
      const hit = cache.get(key)
      if (hit !== undefined) return hit
      index ??= build()
      const found = key === "" ? [] : index.search(key)
      const ids = found.slice(0, topN).map((r) => r.id as number)
      const results: Results = { key, ids, pages: [] }
      if (cache.size >= maxCached) cache.clear()
      cache.set(key, results)
      return results
    }
  }
}
