import * as Hash from "../../random/Hash.ts"
import * as Rng from "../../random/Rng.ts"
import type * as World from "./World.ts"

/**
 * One paragraph per entity, written from templates: a fixed lead sentence, then the other
 * sentences in an order shuffled per entity. `search` shows only the first five sentences (as
 * ReAct's WikiEnv does), so a fact that lands later must be found with `lookup`.
 */

/** A fact a question can need, and the sentence of a paragraph that states it. */
export type Fact =
  | "birthYear" // person, lead: "(born 1843)"
  | "nationality" // person, lead: "from Drusk"
  | "birthCity" // person: "was born in <city>, <country>"
  | "foundedOrg" // person: "founded <organisation>"
  | "cityCountry" // city, lead: "a city in <country>"
  | "cityFounded" // city: "was founded in <year>"
  | "population" // city: "has a population of <n>"
  | "capital" // country: "Its capital is <city>"
  | "orgCountry" // organisation, lead: "based in <country>"
  | "founding" // organisation: "founded in <year> by <person>"
  | "headquarters" // organisation: "Its headquarters are in <city>"
  | "workYear" // work, lead: "a 1974 ... film"
  | "creator" // work, lead: "directed by <person>"
  | "producer" // work: "produced by <organisation>"

/** The word `lookup` needs to reach a fact's sentence when search does not show it. */
export const keyword = (fact: Fact, kind?: World.WorkKind): string => {
  switch (fact) {
    case "birthCity":
      return "born in"
    case "foundedOrg":
    case "cityFounded":
    case "founding":
      return "founded"
    case "population":
      return "population"
    case "capital":
      return "capital"
    case "headquarters":
      return "headquarters"
    case "producer":
      return producedVerb[kind ?? "film"]
    default:
      return ""
  }
}

export interface Paragraph {
  readonly title: string
  readonly sentences: ReadonlyArray<string>
  /** Index of the sentence stating each fact this entity has. */
  readonly facts: Partial<Record<Fact, number>>
}

/** Sentences shown by `search`: ReAct's WikiEnv shows the first five. */
export const summaryLength = 5

export const producedVerb: Record<World.WorkKind, string> = { film: "produced by", novel: "published by", album: "released by" }
export const madeVerb: Record<World.WorkKind, string> = { film: "directed by", novel: "written by", album: "recorded by" }
const worksVerb: Partial<Record<World.Occupation, string>> = { "film director": "directed", novelist: "wrote", musician: "recorded" }
const worksNoun: Partial<Record<World.OrgKind, string>> = { "film studio": "films", "publishing house": "books", "record label": "albums" }

/** "1,234,000" */
export const formatNumber = (n: number): string => n.toLocaleString("en-US")

/** "A", "A and B", "A, B and C" */
export const list = (xs: ReadonlyArray<string>): string =>
  xs.length <= 1 ? (xs[0] ?? "") : `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)
const possessive = (pronoun: "he" | "she"): string => pronoun === "he" ? "his" : "her"

type Tagged = { readonly text: string; readonly facts: ReadonlyArray<Fact> }

/** Puts the lead first and the rest in a per-entity shuffled order; records where each fact landed. */
const assemble = (seed: number, title: string, lead: Tagged, rest: ReadonlyArray<Tagged>): Paragraph => {
  const ordered = [lead, ...Rng.make(Hash.joined("qa-paragraph", seed, title)).shuffle(rest)]
  const facts: Partial<Record<Fact, number>> = {}
  ordered.forEach((s, i) => {
    for (const f of s.facts) facts[f] = i
  })
  return { title, sentences: ordered.map((s) => s.text), facts }
}

const s = (text: string, ...facts: ReadonlyArray<Fact>): Tagged => ({ text, facts })

export const person = (w: World.World, seed: number, p: World.Person): Paragraph => {
  const He = capitalise(p.pronoun)
  const country = w.countries[p.country]!.name
  const lead = p.died === undefined
    ? s(`${p.name} (born ${p.born}) is a ${p.occupation} from ${country}.`, "birthYear", "nationality")
    : s(`${p.name} (${p.born}–${p.died}) was a ${p.occupation} from ${country}.`, "birthYear", "nationality")
  const rest: Array<Tagged> = [
    s(`${He} was born in ${w.cities[p.city]!.name}, ${country}.`, "birthCity"),
    s(`${He} spent most of ${possessive(p.pronoun)} career in ${w.cities[p.careerCity]!.name}.`),
    s(p.children === 0 ? `${He} ${p.died === undefined ? "has" : "had"} no children.` : `${He} ${p.died === undefined ? "has" : "had"} ${p.children} ${p.children === 1 ? "child" : "children"}.`)
  ]
  const verb = worksVerb[p.occupation]
  if (verb !== undefined && p.works.length > 0) rest.push(s(`${He} ${verb} ${list(p.works.slice(0, 3).map((i) => w.works[i]!.title))}.`))
  if (p.organisation !== undefined) {
    const o = w.organisations[p.organisation]!
    rest.push(s(`In ${o.founded}, ${p.pronoun} founded ${o.name}.`, "foundedOrg"))
  }
  if (p.award !== undefined) rest.push(s(`${He} received the ${p.award.name} in ${p.award.year}.`))
  if (p.died !== undefined) rest.push(s(`${He} died in ${w.cities[p.careerCity]!.name} in ${p.died}.`))
  return assemble(seed, p.name, lead, rest)
}

export const city = (w: World.World, seed: number, index: number, organisationsHere: ReadonlyArray<number>): Paragraph => {
  const c = w.cities[index]!
  const country = w.countries[c.country]!
  const lead = country.cities[0] === index
    ? s(`${c.name} is the capital of ${country.name}.`, "cityCountry")
    : s(`${c.name} is a city in ${country.name}.`, "cityCountry")
  const rest: Array<Tagged> = [
    s(`It lies on the ${c.river} River.`),
    s(`${c.name} was founded in ${c.founded}.`, "cityFounded"),
    s(`The city has a population of ${formatNumber(c.population)}.`, "population"),
    s(`${c.name} is known for its ${c.feature}.`),
    s(`The climate of ${c.name} is ${c.climate}.`)
  ]
  if (organisationsHere.length > 0) rest.push(s(`It is home to ${list(organisationsHere.slice(0, 3).map((i) => w.organisations[i]!.name))}.`))
  return assemble(seed, c.name, lead, rest)
}

export const country = (w: World.World, seed: number, k: World.Country): Paragraph => {
  const capital = w.cities[k.cities[0]!]!.name
  const largest = k.cities.slice(0, 3).map((i) => w.cities[i]!.name)
  const rest: Array<Tagged> = [
    s(`Its capital is ${capital}.`, "capital"),
    s(`${k.name} has a population of about ${k.populationMillions} million.`),
    s(`The official language is ${k.language}.`),
    s(`The currency of ${k.name} is the ${k.currency}.`)
  ]
  if (largest.length > 1) rest.push(s(`Its largest cities are ${list(largest)}.`))
  return assemble(seed, k.name, s(`${k.name} is a country in ${k.continent}.`), rest)
}

export const organisation = (w: World.World, seed: number, o: World.Organisation): Paragraph => {
  const rest: Array<Tagged> = [
    s(`It was founded in ${o.founded} by ${w.people[o.founder]!.name}.`, "founding"),
    s(`Its headquarters are in ${w.cities[o.city]!.name}.`, "headquarters"),
    s(`${o.name} employs about ${formatNumber(o.employees)} people.`),
    s(`In ${o.branch.year}, ${o.name} opened an office in ${w.cities[o.branch.city]!.name}.`)
  ]
  const noun = worksNoun[o.kind]
  if (noun !== undefined && o.works.length > 0) rest.push(s(`Its ${noun} include ${list(o.works.slice(0, 3).map((i) => w.works[i]!.title))}.`))
  return assemble(seed, o.name, s(`${o.name} is a ${o.kind} based in ${w.countries[o.country]!.name}.`, "orgCountry"), rest)
}

export const work = (w: World.World, seed: number, x: World.Work): Paragraph => {
  const length = x.kind === "film" ? `The film runs ${x.length} minutes.` : x.kind === "novel" ? `The novel has ${x.length} pages.` : `The album contains ${x.length} tracks.`
  const place = w.cities[x.setting]!.name
  const rest: Array<Tagged> = [
    s(`It was ${producedVerb[x.kind]} ${w.organisations[x.producer]!.name}.`, "producer"),
    s(length),
    s(x.kind === "album" ? `It was made in ${place}.` : `The story is set in ${place}.`),
    s(`${x.title} received ${x.reception} reviews from critics.`)
  ]
  const lead = s(`${x.title} is a ${x.year} ${x.genre} ${x.kind} ${madeVerb[x.kind]} ${w.people[x.creator]!.name}.`, "workYear", "creator")
  return assemble(seed, x.title, lead, rest)
}
