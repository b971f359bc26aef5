import MiniSearch from "minisearch"
import * as Paragraph from "./Paragraph.ts"
import type * as World from "./World.ts"

/**
 * The world's pages (one paragraph per entity) and the `search` tool over them: an exact title,
 * else the same title up to case and spacing, else up to five similar titles ranked by a fuzzy
 * prefix index over the titles (minisearch, built on the first miss). Titles only, not the text:
 * indexing the text too made a miss five times slower (~250 us against ~50 us).
 */

export interface Page extends Paragraph.Paragraph {
  /** What `search` shows: the first sentences joined by spaces. */
  readonly summary: string
}

export interface Wiki {
  readonly pages: ReadonlyArray<Page>
  /** The page a query names: the exact title, else the same title ignoring case and spacing. */
  readonly find: (query: string) => Page | undefined
  /** Titles similar to a query, best first (at most `similarCount`). */
  readonly similar: (query: string) => ReadonlyArray<string>
}

/** ReAct's WikiEnv lists the first five search results. */
export const similarCount = 5
// Queries are cut to this many characters and terms before fuzzy matching: a long random action
// must not make one step slow (fuzzy matching cost grows with term length and count).
const maxQueryChars = 200
const maxQueryTerms = 8

const foldKey = (title: string): string => title.trim().replace(/\s+/g, " ").toLowerCase()

export const build = (world: World.World, seed: number): Wiki => {
  const here = new Map<number, Array<number>>()
  world.organisations.forEach((o, i) => here.set(o.city, [...(here.get(o.city) ?? []), i]))
  const paragraphs: Array<Paragraph.Paragraph> = [
    ...world.countries.map((k) => Paragraph.country(world, seed, k)),
    ...world.cities.map((_, i) => Paragraph.city(world, seed, i, here.get(i) ?? [])),
    ...world.people.map((p) => Paragraph.person(world, seed, p)),
    ...world.organisations.map((o) => Paragraph.organisation(world, seed, o)),
    ...world.works.map((x) => Paragraph.work(world, seed, x))
  ]
  const pages: Array<Page> = paragraphs.map((p) => ({ ...p, summary: p.sentences.slice(0, Paragraph.summaryLength).join(" ") }))
  const byTitle = new Map(pages.map((p) => [p.title, p]))
  const folded = new Map(pages.map((p) => [foldKey(p.title), p]))
  const find = (query: string): Page | undefined => byTitle.get(query) ?? folded.get(foldKey(query))
  let index: MiniSearch<{ id: number; title: string }> | undefined
  const similar = (query: string): ReadonlyArray<string> => {
    const terms = query.slice(0, maxQueryChars).split(/[\s\p{P}]+/u).filter((t) => t !== "").slice(0, maxQueryTerms)
    if (terms.length === 0) return []
    if (index === undefined) {
      index = new MiniSearch({ fields: ["title"], storeFields: [] })
      index.addAll(pages.map((p, id) => ({ id, title: p.title })))
    }
    // Fuzzy within a fifth of a term's length, at most 2 edits: typos match, unrelated names do not.
    return index
      .search(terms.join(" "), { prefix: true, fuzzy: 0.2, maxFuzzy: 2 })
      .slice(0, similarCount)
      .map((r) => pages[r.id as number]!.title)
  }
  return { pages, find, similar }
}
