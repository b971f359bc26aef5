/**
 * WebShop's purchase score (`get_reward` in web_agent_site/engine/goal.py), in [0, 1]:
 *
 *   reward = r_type * (attribute matches + option matches + [price <= limit]) / (|attributes| + |options| + 1)
 *
 * r_type: 1 when the bought product is the wanted type (same query, or >= 2 shared category levels,
 * or more than 20% of the wanted type's nouns in the bought product's nouns), 0.5 when none of those
 * hold, 0.1 when under 10% of the nouns are shared, 0 when none is. WebShop gets the nouns from spaCy's
 * parse of the titles; here each product type lists them. Attribute and option matching use exact
 * (normalised) equality where WebShop uses a fuzzy ratio above 85; the attribute fallback to the
 * title, bullet points and description matches whole words where WebShop matches substrings.
 */
export interface Item {
  readonly query: string
  readonly category: ReadonlyArray<string>
  readonly nouns: ReadonlyArray<string>
  readonly attributes: ReadonlyArray<string>
  /** Title, bullet points and description, normalised by `words`, with a space at both ends. */
  readonly text: string
  readonly price: number
}

export interface Want {
  readonly query: string
  readonly category: ReadonlyArray<string>
  readonly nouns: ReadonlyArray<string>
  readonly attributes: ReadonlyArray<string>
  /** Wanted option values (one per option group of the target). */
  readonly options: ReadonlyArray<string>
  readonly priceUpper: number
}

export interface Breakdown {
  readonly rType: number
  readonly attributeMatches: number
  readonly optionMatches: number
  readonly priceOk: boolean
  readonly reward: number
}

/** Lower case, every run of characters other than letters and digits turned into one space, padded with spaces. */
export const words = (s: string): string => ` ${s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim()} `

export const typeReward = (item: Item, want: Want): number => {
  const queryMatch = item.query === want.query
  let sharedLevels = 0
  for (const c of new Set(want.category)) if (item.category.includes(c)) sharedLevels++
  const categoryMatch = sharedLevels >= 2
  const wanted = [...new Set(want.nouns)]
  let sharedNouns = 0
  for (const n of wanted) if (item.nouns.includes(n)) sharedNouns++
  const titleScore = wanted.length === 0 ? 0.2 : sharedNouns / wanted.length
  let r = 1
  if (!(queryMatch || categoryMatch || titleScore > 0.2)) r = 0.5
  if (titleScore < 0.1) r = 0.1
  if (titleScore === 0) r = 0
  return r
}

const hasAttribute = (item: Item, attribute: string): boolean =>
  item.attributes.includes(attribute) || item.text.includes(words(attribute))

const norm = (s: string): string => s.trim().toLowerCase()

/** The score of buying `item` with the option values `chosen` selected, against `want`. */
export const score = (item: Item, chosen: ReadonlyArray<string>, want: Want): Breakdown => {
  const rType = typeReward(item, want)
  let attributeMatches = 0
  for (const a of want.attributes) if (hasAttribute(item, a)) attributeMatches++
  const picked = chosen.map(norm)
  let optionMatches = 0
  for (const o of want.options) if (picked.includes(norm(o))) optionMatches++
  const priceOk = item.price <= want.priceUpper
  const reward = rType * (attributeMatches + optionMatches + (priceOk ? 1 : 0)) / (want.attributes.length + want.options.length + 1)
  return { rType, attributeMatches, optionMatches, priceOk, reward }
}
