import type { Split } from "../../domain/TaskId.ts"
import * as Names from "./Names.ts"
import * as Hash from "../../random/Hash.ts"
import * as Rng from "../../random/Rng.ts"

/**
 * The structured facts of a fictional world: countries, cities, people, organisations and works,
 * with attributes and the relations between them (born in, founded by, headquartered in, directed by...).
 * Entities refer to each other by index into the world's arrays. Dates are kept consistent
 * (nobody founds anything before they are 22, works come out after their maker was 18 and their
 * producer existed), so every fact the paragraphs state is true of this world.
 */

export type Occupation = "film director" | "novelist" | "musician" | "painter" | "physicist" | "architect" | "entrepreneur" | "engineer"
export type WorkKind = "film" | "novel" | "album"
export type OrgKind = "film studio" | "publishing house" | "record label" | "engineering company"

export interface Country {
  readonly name: string
  readonly continent: string
  readonly language: string
  readonly currency: string
  readonly populationMillions: number
  /** Cities of this country, most populous first; the first is the capital. */
  readonly cities: ReadonlyArray<number>
}

export interface City {
  readonly name: string
  readonly country: number
  readonly population: number
  readonly founded: number
  readonly river: string
  readonly feature: string
  readonly climate: string
}

export interface Person {
  readonly name: string
  readonly pronoun: "he" | "she"
  readonly born: number
  readonly died: number | undefined
  readonly city: number
  readonly country: number
  readonly occupation: Occupation
  readonly careerCity: number
  readonly children: number
  readonly award: { readonly name: string; readonly year: number } | undefined
  readonly works: ReadonlyArray<number>
  readonly organisation: number | undefined
}

export interface Organisation {
  readonly name: string
  readonly kind: OrgKind
  readonly founded: number
  readonly founder: number
  readonly city: number
  readonly country: number
  readonly employees: number
  readonly branch: { readonly city: number; readonly year: number }
  readonly works: ReadonlyArray<number>
}

export interface Work {
  readonly title: string
  readonly kind: WorkKind
  readonly year: number
  readonly genre: string
  readonly creator: number
  readonly producer: number
  readonly length: number
  readonly setting: number
  readonly reception: string
}

export interface World {
  readonly split: Split
  readonly countries: ReadonlyArray<Country>
  readonly cities: ReadonlyArray<City>
  readonly people: ReadonlyArray<Person>
  readonly organisations: ReadonlyArray<Organisation>
  readonly works: ReadonlyArray<Work>
}

export interface Sizes {
  readonly countries: number
  readonly cities: number
  readonly people: number
  readonly organisations: number
  readonly works: number
}

/** The year the world's "now" is: living people were born before it, nothing happens after it. */
export const presentYear = 2024

export const creatorOf: Record<WorkKind, Occupation> = { film: "film director", novel: "novelist", album: "musician" }
export const producerOf: Record<WorkKind, OrgKind> = { film: "film studio", novel: "publishing house", album: "record label" }
const orgKinds: ReadonlyArray<OrgKind> = ["film studio", "publishing house", "record label", "engineering company"]
const workKinds: ReadonlyArray<WorkKind> = ["film", "novel", "album"]
// Creators are three fifths of the people so that every work kind has makers to choose from.
const occupations: ReadonlyArray<Occupation> = ["film director", "film director", "novelist", "novelist", "musician", "musician", "painter", "physicist", "architect", "entrepreneur"]
const orgSuffixes: Record<OrgKind, ReadonlyArray<string>> = {
  "film studio": ["Pictures", "Studios", "Films"],
  "publishing house": ["Press", "Books", "Publishing"],
  "record label": ["Records", "Music", "Sound"],
  "engineering company": ["Industries", "Works", "Engineering", "Group"]
}
const genres: Record<WorkKind, ReadonlyArray<string>> = {
  film: ["drama", "comedy", "thriller", "science fiction", "animated", "war", "musical", "horror"],
  novel: ["historical", "mystery", "fantasy", "romance", "crime", "adventure"],
  album: ["jazz", "folk", "rock", "electronic", "classical", "pop"]
}
const features = ["cathedral", "harbour", "university", "textile mills", "old bridges", "spring festival", "glassworks", "botanical garden", "opera house", "markets"]
const climates = ["mild", "humid", "dry", "cold", "temperate", "rainy"]
const receptions = ["warm", "mixed", "glowing", "lukewarm", "favourable"]

const lengthOf = (rng: Rng.Rng, kind: WorkKind): number =>
  kind === "film" ? rng.between(80, 180) : kind === "novel" ? rng.between(150, 900) : rng.between(8, 16)

/** Generates a world. Throws only on impossible sizes (a bug in the caller's constants). */
export const generate = (seed: number, split: Split, sizes: Sizes): World => {
  const rng = Rng.make(Hash.joined("qa-world", seed, split))
  const names = Names.pool(split)

  // 1. Countries and the non-entity names they use.
  const continents = [0, 1, 2].map(() => names.fresh(() => Names.word(rng, 3)))
  const countryDraft = Array.from({ length: sizes.countries }, () => ({
    name: names.fresh(() => Names.country(rng)),
    continent: rng.pick(continents),
    language: names.fresh(() => Names.word(rng, 2) + "ish"),
    currency: names.fresh(() => Names.word(rng, 2)).toLowerCase(),
    populationMillions: rng.between(1, 90)
  }))

  // 2. Cities: every country has at least one; populations are distinct so comparisons have one answer.
  const populations = new Set<number>()
  const cities: Array<City> = Array.from({ length: sizes.cities }, (_, i) => {
    let population = 0
    do population = rng.between(150, 39_000) * 100
    while (populations.has(population))
    populations.add(population)
    return {
      name: names.fresh(() => Names.city(rng)),
      country: i < sizes.countries ? i : rng.int(sizes.countries),
      population,
      founded: rng.between(700, 1850),
      river: names.fresh(() => Names.word(rng, 2)),
      feature: rng.pick(features),
      climate: rng.pick(climates)
    }
  })
  const countries: Array<Country> = countryDraft.map((c, k) => ({
    ...c,
    cities: cities.map((_, i) => i).filter((i) => cities[i]!.country === k).sort((a, b) => cities[b]!.population - cities[a]!.population)
  }))

  // 3. People.
  const awards = [0, 1, 2, 3, 4, 5].map(() => names.fresh(() => Names.word(rng, 2)) + " Prize")
  const peopleDraft = Array.from({ length: sizes.people }, (_, i) => {
    const born = rng.between(1820, 1995)
    const died = born < 1940 || rng.chance(0.1) ? Math.min(born + rng.between(40, 95), presentYear - 1) : undefined
    const city = rng.int(cities.length)
    let careerCity = rng.int(cities.length)
    if (careerCity === city) careerCity = (city + 1) % cities.length
    const awardYear = born + rng.between(30, 60)
    return {
      name: names.fresh(() => Names.person(rng)),
      pronoun: rng.chance(0.5) ? "he" as const : "she" as const,
      born,
      died,
      city,
      country: cities[city]!.country,
      // The first people cover every occupation so that each work kind has a maker.
      occupation: i < occupations.length ? occupations[i]! : rng.pick(occupations),
      careerCity,
      children: rng.between(0, 5),
      award: rng.chance(0.4) && awardYear <= Math.min(died ?? presentYear, presentYear) ? { name: rng.pick(awards), year: awardYear } : undefined,
      works: [] as Array<number>,
      organisation: undefined as number | undefined
    }
  })

  // 4. Organisations, each founded by a different person old enough to found it.
  const organisations: Array<Omit<Organisation, "works"> & { works: Array<number> }> = []
  for (let k = 0; k < sizes.organisations; k++) {
    const kind = orgKinds[k % orgKinds.length]!
    let founder = -1
    for (let attempt = 0; attempt < 1000 && founder < 0; attempt++) {
      const p = rng.int(peopleDraft.length)
      const person = peopleDraft[p]!
      if (person.organisation === undefined && person.born <= 1975 && (person.died === undefined || person.died - person.born > 30)) founder = p
    }
    if (founder < 0) throw new Error("World.generate: no founder left (too many organisations for the people)")
    const person = peopleDraft[founder]!
    const founded = Math.min(person.born + rng.between(22, 50), person.died ?? presentYear - 5, presentYear - 5)
    const city = rng.int(cities.length)
    let branchCity = rng.int(cities.length)
    if (branchCity === city) branchCity = (city + 1) % cities.length
    person.organisation = organisations.length
    organisations.push({
      name: names.fresh(() => Names.organisation(rng, orgSuffixes[kind])),
      kind,
      founded,
      founder,
      city,
      country: cities[city]!.country,
      employees: rng.between(4, 2000) * 10,
      branch: { city: branchCity, year: rng.between(founded + 1, presentYear) },
      works: []
    })
  }

  // 5. Works: a maker of the right occupation, a producer of the right kind, a year both allow.
  const byOccupation = new Map<Occupation, Array<number>>()
  peopleDraft.forEach((p, i) => byOccupation.set(p.occupation, [...(byOccupation.get(p.occupation) ?? []), i]))
  const byOrgKind = new Map<OrgKind, Array<number>>()
  organisations.forEach((o, i) => byOrgKind.set(o.kind, [...(byOrgKind.get(o.kind) ?? []), i]))
  const works: Array<Work> = []
  for (let attempt = 0; works.length < sizes.works; attempt++) {
    if (attempt > sizes.works * 100) throw new Error("World.generate: cannot place works (sizes too small)")
    const kind = rng.pick(workKinds)
    const creator = rng.pick(byOccupation.get(creatorOf[kind]) ?? [])
    const producer = rng.pick(byOrgKind.get(producerOf[kind]) ?? [])
    const maker = peopleDraft[creator]!
    const lo = Math.max(maker.born + 18, organisations[producer]!.founded + 1)
    const hi = Math.min(maker.died ?? presentYear, presentYear)
    if (lo > hi) continue
    const index = works.length
    maker.works.push(index)
    organisations[producer]!.works.push(index)
    works.push({
      title: names.fresh(() => Names.work(rng)),
      kind,
      year: rng.between(lo, hi),
      genre: rng.pick(genres[kind]),
      creator,
      producer,
      length: lengthOf(rng, kind),
      setting: rng.int(cities.length),
      reception: rng.pick(receptions)
    })
  }

  return { split, countries, cities, people: peopleDraft, organisations, works }
}
