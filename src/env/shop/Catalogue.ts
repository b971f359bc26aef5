import type { Split } from "../../domain/TaskId.ts"
import type { Item } from "./Reward.ts"
import { words } from "./Reward.ts"
import * as Hash from "../../random/Hash.ts"
import * as Rng from "../../random/Rng.ts"
import * as Taxonomy from "./Taxonomy.ts"

/** Products of each type in the catalogue: 26 types x 80 = 2,080 products, WebShop's AgentGym server searches 1,000. */
export const perType = 80
/** Every tenth product of a type (by generation order) is a test product: about 10% of the catalogue. */
export const testEvery = 10

export interface Options {
  readonly name: string
  readonly values: ReadonlyArray<string>
}

export interface Product extends Item {
  /** Index in the catalogue. */
  readonly id: number
  readonly asin: string
  readonly type: number
  readonly brand: string
  readonly title: string
  readonly options: ReadonlyArray<Options>
  readonly bullets: ReadonlyArray<string>
  readonly description: string
  /** The split whose tasks may target this product. */
  readonly split: Split
}

export interface Catalogue {
  readonly products: ReadonlyArray<Product>
  readonly byAsin: ReadonlyMap<string, Product>
}

const syllables = ["nor", "vel", "ka", "ri", "lo", "tav", "mer", "zu", "bel", "cor", "fin", "das", "ol", "ven", "tri", "sel", "ber", "quin", "ro", "ma", "pex", "ly", "gan", "tor"]
const praise = ["built to last", "a customer favorite", "easy care", "great value", "quality you can feel", "made with care"]
const asinChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
const cents = [99, 49, 95, 0, 89]

const capitalise = (s: string): string => s.split(" ").map((w) => w.length === 0 ? w : w[0]!.toUpperCase() + w.slice(1)).join(" ")
/** `t-shirt` -> `T-Shirt`. */
const titleCase = (s: string): string => capitalise(s).split("-").map((w) => w.length === 0 ? w : w[0]!.toUpperCase() + w.slice(1)).join("-")

/** Drops an attribute that excludes one kept before it (`slim fit` after `relaxed fit`). */
const withoutConflicts = (attributes: ReadonlyArray<string>): Array<string> => {
  const kept: Array<string> = []
  for (const a of attributes) {
    const clash = Taxonomy.exclusive.some((set) => set.includes(a) && kept.some((k) => k !== a && set.includes(k)))
    if (!clash) kept.push(a)
  }
  return kept
}

const brands = (rng: Rng.Rng, n: number, taken: Set<string>): Array<string> => {
  const out: Array<string> = []
  while (out.length < n) {
    const k = rng.between(2, 3)
    let name = ""
    for (let i = 0; i < k; i++) name += rng.pick(syllables)
    const brand = name[0]!.toUpperCase() + name.slice(1)
    if (!taken.has(brand)) {
      taken.add(brand)
      out.push(brand)
    }
  }
  return out
}

const asin = (rng: Rng.Rng, taken: Set<string>): string => {
  for (;;) {
    let id = "B0"
    for (let i = 0; i < 8; i++) id += asinChars[rng.int(asinChars.length)]
    if (!taken.has(id)) {
      taken.add(id)
      return id
    }
  }
}

/** The catalogue a seed generates: deterministic, different seeds give different products. */
export const generate = (seed: number): Catalogue => {
  const rng = Rng.make(Hash.labelled(seed, "shop/catalogue"))
  const brandTaken = new Set<string>()
  // 12 brands a department: ~7 products of a type share a brand, so brand words do not pick one product out.
  const brandsByDept = Taxonomy.departments.map(() => brands(rng, 12, brandTaken))
  const asins = new Set<string>()
  const products: Array<Product> = []
  Taxonomy.types.forEach((type, typeIndex) => {
    const dept = Taxonomy.departments[type.department]!
    const attributeNames = type.attributes.map(Taxonomy.attributeName)
    for (let j = 0; j < perType; j++) {
      const brand = rng.pick(brandsByDept[type.department]!)
      // 3-5 attributes of the type's 7-9: goals (1-3 of them) then single out a few products, not one.
      const attributes = withoutConflicts(rng.sample(attributeNames, rng.between(3, Math.min(5, attributeNames.length))))
      const inTitle = rng.sample(attributes, rng.int(3))
      const tail = rng.pick(dept.tails)
      const noun = titleCase(type.noun)
      const titleAttrs = inTitle.map(titleCase).join(" ")
      const title = rng.int(2) === 0
        ? `${brand} ${titleAttrs === "" ? "" : titleAttrs + " "}${noun} - ${tail}`
        : `${brand} ${noun}${titleAttrs === "" ? "" : ", " + titleAttrs}, ${tail}`
      // 2-6 values a group: a choice to make on every item page, and products differ in what they offer.
      const options = type.groups.map((g) => ({ name: g.name, values: rng.sample(g.values, rng.between(2, Math.min(6, g.values.length))) }))
      const [lo, hi] = type.price
      const price = (Math.floor(lo + rng.next() * (hi - lo)) * 100 + rng.pick(cents)) / 100
      const bullets = attributes.map((a) => `${capitalise(type.attributes.find((s) => Taxonomy.attributeName(s) === a)!)} - ${rng.pick(praise)}`)
      const blurbs = rng.sample(dept.blurbs, 2)
      const description = `The ${brand} ${type.noun}. ${blurbs.join(" ")}`
      products.push({
        id: products.length,
        asin: asin(rng, asins),
        type: typeIndex,
        brand,
        title,
        price: Math.max(price, 0.99),
        attributes,
        options,
        bullets,
        description,
        query: type.noun,
        category: type.category,
        nouns: type.nouns,
        text: words(`${title} ${bullets.join(" ")} ${description}`),
        split: j % testEvery === testEvery - 1 ? "test" : "train"
      })
    }
  })
  return { products, byAsin: new Map(products.map((p) => [p.asin, p])) }
}
