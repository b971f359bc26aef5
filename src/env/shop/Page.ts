import type { Product } from "./Catalogue.ts"
import { perPage } from "./Search.ts"

/**
 * The text of WebShop's pages in its `text` observation mode: visible strings joined by ` [SEP] `.
 * WebShop repeats `Instruction: [SEP] <goal>` at the top of every page; here only the search page
 * shows it (the goal is in every state through the first observation), so later pages start with
 * `[SEP] Back to Search`.
 */
export const sep = " [SEP] "

export const backToSearch = "Back to Search"
export const nextPage = "Next >"
export const prevPage = "< Prev"
export const buyNow = "Buy Now"
export const subPages = ["Description", "Features", "Reviews"] as const
export type SubPage = typeof subPages[number]

export const invalid = "Invalid action!"

const money = (x: number): string => `$${x.toFixed(2)}`

export const search = (goal: string): string => `WebShop${sep}Instruction:${sep}${goal}${sep}Search`

/** A results page: `page` counts from 1; `products` are the ones on this page. */
export const results = (page: number, total: number, products: ReadonlyArray<Product>): string => {
  const parts: Array<string> = [backToSearch, `Page ${page} (Total results: ${total})`]
  if (page > 1) parts.push(prevPage)
  if (page * perPage < total) parts.push(nextPage)
  for (const p of products) parts.push(p.asin, p.title, money(p.price))
  return sep.trimStart() + parts.join(sep)
}

export const item = (p: Product): string => {
  const parts: Array<string> = [backToSearch, prevPage]
  for (const o of p.options) parts.push(o.name, ...o.values)
  parts.push(p.title, `Price: ${money(p.price)}`, "Rating: N.A.", ...subPages, buyNow)
  return sep.trimStart() + parts.join(sep)
}

export const sub = (p: Product, which: SubPage): string => {
  const parts: Array<string> = [backToSearch, prevPage]
  if (which === "Description") parts.push(p.description)
  else if (which === "Features") parts.push(...p.bullets)
  return sep.trimStart() + parts.join(sep)
}

export const done = (asin: string, options: ReadonlyMap<string, string>, reward: number): string =>
  [
    "Thank you for shopping with us!",
    "Purchased",
    "asin",
    asin,
    "options",
    JSON.stringify(Object.fromEntries(options)),
    "Reward",
    "Your score (min 0.0, max 1.0)",
    Number.isInteger(reward) ? reward.toFixed(1) : String(reward)
  ].join(sep)
