import type { Split } from "../../domain/TaskId.ts"
import type { Catalogue, Product } from "./Catalogue.ts"
import type { Want } from "./Reward.ts"
import * as Hash from "../../random/Hash.ts"
import * as Rng from "../../random/Rng.ts"
import * as Taxonomy from "./Taxonomy.ts"

/** Tasks a split holds: 5,000 to train on (~2.8 per train product), 500 to test on (~2.4 per test product). */
export const sizes: Readonly<Record<Split, number>> = { train: 5000, test: 500 }

/** WebShop's price limits: multiples of 10 dollars; a goal takes one of the first four above the target's price. */
const priceSteps = Array.from({ length: 99 }, (_, i) => 10 * (i + 1))

export interface WantedOption {
  readonly group: string
  readonly value: string
}

/** One task: what to buy, written as an instruction; the target product satisfies it (reward 1). */
export interface Goal extends Want {
  readonly asin: string
  readonly type: number
  readonly wanted: ReadonlyArray<WantedOption>
  readonly text: string
}

export interface Tasks {
  readonly train: ReadonlyArray<Goal>
  readonly test: ReadonlyArray<Goal>
}

const leads = ["i need", "i am looking for", "i want", "find me", "i would like", "i'm looking for", "get me"]

/** The instruction text, in one of two styles: natural (`a blue cotton t-shirt in size m`) or WebShop's synthetic (`with color: blue, and size: m`). */
const instruction = (rng: Rng.Rng, type: Taxonomy.ProductType, specs: ReadonlyArray<string>, wanted: ReadonlyArray<WantedOption>, priceUpper: number): string => {
  const lead = rng.pick(leads)
  const pre = specs.filter((s) => !Taxonomy.isPost(s))
  const post = specs.filter(Taxonomy.isPost)
  const price = `, and price lower than ${priceUpper.toFixed(2)} dollars`
  const natural = rng.int(2) === 0
  const before: Array<string> = []
  const after: Array<string> = []
  if (natural) {
    for (const w of wanted) {
      const phrase = type.groups.find((g) => g.name === w.group)!.phrase
      if (phrase === "pre") before.push(w.value)
      else after.push(phrase.replace("{}", w.value))
    }
  }
  const adjectives = [...before, pre.join(", ")].filter((s) => s !== "").join(" ")
  const head = adjectives === "" ? type.noun : `${adjectives} ${type.noun}`
  let text = `${lead} ${Taxonomy.withArticle(type.plural, head)}`
  if (post.length > 0) text += ` ${post.join(" and ")}`
  if (natural) {
    if (after.length > 0) text += ` ${after.join(" and ")}`
  } else {
    text += ` with ${wanted.map((w) => `${w.group}: ${w.value}`).join(", and ")}`
  }
  return text + price
}

const goalFor = (rng: Rng.Rng, product: Product): Goal => {
  const type = Taxonomy.types[product.type]!
  const specs = rng.sample(type.attributes.filter((s) => product.attributes.includes(Taxonomy.attributeName(s))), rng.between(1, 3))
  const wanted = product.options.map((o) => ({ group: o.name, value: rng.pick(o.values) }))
  const steps = priceSteps.filter((p) => p > product.price).slice(0, 4)
  const priceUpper = rng.pick(steps)
  return {
    asin: product.asin,
    type: product.type,
    query: product.query,
    category: product.category,
    nouns: product.nouns,
    attributes: specs.map(Taxonomy.attributeName),
    options: wanted.map((w) => w.value),
    wanted,
    priceUpper,
    text: instruction(rng, type, specs, wanted, priceUpper)
  }
}

/** What makes two goals the same request: type, attributes and option values (not the price limit or wording). */
export const combination = (g: Goal): string => `${g.type}|${[...g.attributes].sort().join(",")}|${g.options.join(",")}`

const draw = (rng: Rng.Rng, pool: ReadonlyArray<Product>, n: number, taken: Set<string>): Array<Goal> => {
  const out: Array<Goal> = []
  while (out.length < n) {
    const g = goalFor(rng, rng.pick(pool))
    const key = combination(g)
    if (taken.has(key)) continue
    taken.add(key)
    out.push(g)
  }
  return out
}

/**
 * The task sets of a catalogue. Test goals target test products only, train goals train products
 * only, and no combination (type, attributes, options) appears twice anywhere: the test set asks
 * for products and combinations never seen in training. Test goals are drawn first, from their own
 * stream, so the test set does not depend on the train set's size.
 */
export const generate = (seed: number, catalogue: Catalogue): Tasks => {
  const taken = new Set<string>()
  const test = draw(Rng.make(Hash.labelled(seed, "shop/goals/test")), catalogue.products.filter((p) => p.split === "test"), sizes.test, taken)
  const train = draw(Rng.make(Hash.labelled(seed, "shop/goals/train")), catalogue.products.filter((p) => p.split === "train"), sizes.train, taken)
  return { train, test }
}
