import * as Action from "./Action.ts"
import * as Paragraph from "./Paragraph.ts"
import * as Hash from "../../random/Hash.ts"
import * as Rng from "../../random/Rng.ts"
import type * as Wiki from "./Wiki.ts"
import * as World from "./World.ts"

/**
 * HotpotQA-style questions over a generated world, each with the expert's plan: bridge questions
 * (find an entity through another: "In which year was the founder of X born?") and comparison
 * questions ("Which city has the larger population, A or B?", "Were A and B born in the same country?").
 * The expert searches each entity in order, looks up a fact that the search summary does not show,
 * and finishes with the gold answer; every fact it uses appears in an observation it was given.
 */

export const bridgeTypes = [
  "founderBirthYear",
  "creatorNationality",
  "headquartersPopulation",
  "producerFounder",
  "producerFoundedYear",
  "birthCityPopulation",
  "foundedOrganisationCity",
  "creatorBirthYear",
  "capitalOfCountry"
] as const
export const comparisonTypes = [
  "largerPopulation",
  "sameBirthCountry",
  "bornFirst",
  "foundedEarlier",
  "sameCountryBased",
  "cameOutFirst",
  "cityFoundedEarlier"
] as const
export type QuestionType = typeof bridgeTypes[number] | typeof comparisonTypes[number]

export interface Question {
  readonly type: QuestionType
  readonly text: string
  readonly answer: string
  /** The expert's actions: they reach reward 1 from a fresh episode of this question. */
  readonly actions: ReadonlyArray<string>
  /** A short templated thought before each expert action. */
  readonly thoughts: ReadonlyArray<string>
}

/** One hop of a plan: search `title`, then read `fact` off its page (looking it up when search does not show it). */
interface Hop {
  readonly title: string
  readonly fact: Paragraph.Fact
  readonly kind?: World.WorkKind
  /** "who founded X": what the lookup is for, for the lookup thought. */
  readonly about: string
  readonly thought: string
}

/** Turns hops into actions and thoughts; undefined when the plan would not fit in `maxSteps`. */
const plan = (wiki: Wiki.Wiki, maxSteps: number, type: QuestionType, text: string, answer: string, hops: ReadonlyArray<Hop>, finishThought: string): Question | undefined => {
  const actions: Array<string> = []
  const thoughts: Array<string> = []
  for (const hop of hops) {
    actions.push(Action.format("search", hop.title))
    thoughts.push(hop.thought)
    const page = wiki.find(hop.title)
    const at = page?.facts[hop.fact]
    if (page === undefined || at === undefined) throw new Error(`Question.plan: page ${hop.title} has no ${hop.fact} sentence`)
    if (at < Paragraph.summaryLength) continue
    const keyword = Paragraph.keyword(hop.fact, hop.kind)
    const needle = keyword.toLowerCase()
    const hits = page.sentences.flatMap((s, i) => s.toLowerCase().includes(needle) ? [i] : [])
    const rank = hits.indexOf(at)
    if (rank < 0) throw new Error(`Question.plan: lookup[${keyword}] does not reach the ${hop.fact} sentence of ${hop.title}`)
    for (let j = 0; j <= rank; j++) {
      actions.push(Action.format("lookup", keyword))
      thoughts.push(j === 0 ? `The passage does not say ${hop.about}. I need to look up ${keyword}.` : `This sentence is not about ${hop.about}. I need the next result.`)
    }
  }
  actions.push(Action.format("finish", answer))
  thoughts.push(finishThought)
  return actions.length <= maxSteps ? { type, text, answer, actions, thoughts } : undefined
}

const madeActive: Record<World.WorkKind, string> = { film: "directed", novel: "wrote", album: "recorded" }
const producedPast: Record<World.WorkKind, string> = { film: "produced", novel: "published", album: "released" }
const makerOf = (x: World.Work): string =>
  x.kind === "film" ? `the director of the film ${x.title}` : x.kind === "novel" ? `the author of the novel ${x.title}` : `the musician who recorded the album ${x.title}`

const earlier = (a: { name: string; year: number }, b: { name: string; year: number }): string => (a.year < b.year ? a.name : b.name)

type Maker = (w: World.World, wiki: Wiki.Wiki, rng: Rng.Rng, maxSteps: number) => Question | undefined

/** Two different indices in [0, n), or undefined when n < 2. */
const pair = (rng: Rng.Rng, n: number): [number, number] | undefined => {
  if (n < 2) return undefined
  const a = rng.int(n)
  const b = (a + 1 + rng.int(n - 1)) % n
  return [a, b]
}

const makers: Record<QuestionType, Maker> = {
  founderBirthYear: (w, wiki, rng, max) => {
    const o = rng.pick(w.organisations)
    const p = w.people[o.founder]!
    return plan(wiki, max, "founderBirthYear", `In which year was the founder of ${o.name} born?`, String(p.born), [
      { title: o.name, fact: "founding", about: `who founded ${o.name}`, thought: `I need to search ${o.name}, find its founder, then find the year the founder was born.` },
      { title: p.name, fact: "birthYear", about: `when ${p.name} was born`, thought: `${o.name} was founded by ${p.name}. I need to search ${p.name} and find the year ${p.pronoun} was born.` }
    ], `${p.name} was born in ${p.born}. So the answer is ${p.born}.`)
  },
  creatorNationality: (w, wiki, rng, max) => {
    const x = rng.pick(w.works)
    const p = w.people[x.creator]!
    const country = w.countries[p.country]!.name
    return plan(wiki, max, "creatorNationality", `Which country is ${makerOf(x)} from?`, country, [
      { title: x.title, fact: "creator", about: `who ${madeActive[x.kind]} ${x.title}`, thought: `I need to search ${x.title}, find who ${madeActive[x.kind]} it, then find which country that person is from.` },
      { title: p.name, fact: "nationality", about: `where ${p.name} is from`, thought: `${x.title} was ${Paragraph.madeVerb[x.kind]} ${p.name}. I need to search ${p.name} and find which country ${p.pronoun} is from.` }
    ], `${p.name} is from ${country}. So the answer is ${country}.`)
  },
  headquartersPopulation: (w, wiki, rng, max) => {
    const o = rng.pick(w.organisations)
    const c = w.cities[o.city]!
    const pop = Paragraph.formatNumber(c.population)
    return plan(wiki, max, "headquartersPopulation", `What is the population of the city where ${o.name} has its headquarters?`, pop, [
      { title: o.name, fact: "headquarters", about: `where the headquarters of ${o.name} are`, thought: `I need to search ${o.name}, find the city of its headquarters, then find the population of that city.` },
      { title: c.name, fact: "population", about: `the population of ${c.name}`, thought: `The headquarters of ${o.name} are in ${c.name}. I need to search ${c.name} and find its population.` }
    ], `${c.name} has a population of ${pop}. So the answer is ${pop}.`)
  },
  producerFounder: (w, wiki, rng, max) => {
    const x = rng.pick(w.works)
    const o = w.organisations[x.producer]!
    const p = w.people[o.founder]!
    const verb = producedPast[x.kind]
    return plan(wiki, max, "producerFounder", `Who founded the ${o.kind} that ${verb} ${x.title}?`, p.name, [
      { title: x.title, fact: "producer", kind: x.kind, about: `which ${o.kind} ${verb} ${x.title}`, thought: `I need to search ${x.title}, find the ${o.kind} that ${verb} it, then find who founded that ${o.kind}.` },
      { title: o.name, fact: "founding", about: `who founded ${o.name}`, thought: `${x.title} was ${verb} by ${o.name}. I need to search ${o.name} and find who founded it.` }
    ], `${o.name} was founded by ${p.name}. So the answer is ${p.name}.`)
  },
  producerFoundedYear: (w, wiki, rng, max) => {
    const x = rng.pick(w.works)
    const o = w.organisations[x.producer]!
    const verb = producedPast[x.kind]
    return plan(wiki, max, "producerFoundedYear", `In which year was the ${o.kind} that ${verb} ${x.title} founded?`, String(o.founded), [
      { title: x.title, fact: "producer", kind: x.kind, about: `which ${o.kind} ${verb} ${x.title}`, thought: `I need to search ${x.title}, find the ${o.kind} that ${verb} it, then find the year that ${o.kind} was founded.` },
      { title: o.name, fact: "founding", about: `when ${o.name} was founded`, thought: `${x.title} was ${verb} by ${o.name}. I need to search ${o.name} and find when it was founded.` }
    ], `${o.name} was founded in ${o.founded}. So the answer is ${o.founded}.`)
  },
  birthCityPopulation: (w, wiki, rng, max) => {
    const p = rng.pick(w.people)
    const c = w.cities[p.city]!
    const pop = Paragraph.formatNumber(c.population)
    return plan(wiki, max, "birthCityPopulation", `What is the population of the city where ${p.name} was born?`, pop, [
      { title: p.name, fact: "birthCity", about: `where ${p.name} was born`, thought: `I need to search ${p.name}, find the city where ${p.pronoun} was born, then find the population of that city.` },
      { title: c.name, fact: "population", about: `the population of ${c.name}`, thought: `${p.name} was born in ${c.name}. I need to search ${c.name} and find its population.` }
    ], `${c.name} has a population of ${pop}. So the answer is ${pop}.`)
  },
  foundedOrganisationCity: (w, wiki, rng, max) => {
    const o = rng.pick(w.organisations)
    const p = w.people[o.founder]!
    const c = w.cities[o.city]!.name
    return plan(wiki, max, "foundedOrganisationCity", `In which city does the organisation founded by ${p.name} have its headquarters?`, c, [
      { title: p.name, fact: "foundedOrg", about: `what ${p.name} founded`, thought: `I need to search ${p.name}, find the organisation ${p.pronoun} founded, then find the city of its headquarters.` },
      { title: o.name, fact: "headquarters", about: `where the headquarters of ${o.name} are`, thought: `${p.name} founded ${o.name}. I need to search ${o.name} and find where its headquarters are.` }
    ], `The headquarters of ${o.name} are in ${c}. So the answer is ${c}.`)
  },
  creatorBirthYear: (w, wiki, rng, max) => {
    const x = rng.pick(w.works)
    const p = w.people[x.creator]!
    return plan(wiki, max, "creatorBirthYear", `In which year was ${makerOf(x)} born?`, String(p.born), [
      { title: x.title, fact: "creator", about: `who ${madeActive[x.kind]} ${x.title}`, thought: `I need to search ${x.title}, find who ${madeActive[x.kind]} it, then find the year that person was born.` },
      { title: p.name, fact: "birthYear", about: `when ${p.name} was born`, thought: `${x.title} was ${Paragraph.madeVerb[x.kind]} ${p.name}. I need to search ${p.name} and find the year ${p.pronoun} was born.` }
    ], `${p.name} was born in ${p.born}. So the answer is ${p.born}.`)
  },
  capitalOfCountry: (w, wiki, rng, max) => {
    const i = rng.int(w.cities.length)
    const c = w.cities[i]!
    const k = w.countries[c.country]!
    if (k.cities[0] === i) return undefined // the capital itself: its lead sentence already answers
    const capital = w.cities[k.cities[0]!]!.name
    return plan(wiki, max, "capitalOfCountry", `What is the capital of the country where ${c.name} is located?`, capital, [
      { title: c.name, fact: "cityCountry", about: `which country ${c.name} is in`, thought: `I need to search ${c.name}, find the country it is in, then find the capital of that country.` },
      { title: k.name, fact: "capital", about: `the capital of ${k.name}`, thought: `${c.name} is a city in ${k.name}. I need to search ${k.name} and find its capital.` }
    ], `The capital of ${k.name} is ${capital}. So the answer is ${capital}.`)
  },
  largerPopulation: (w, wiki, rng, max) => {
    const ab = pair(rng, w.cities.length)
    if (ab === undefined) return undefined
    const [a, b] = [w.cities[ab[0]]!, w.cities[ab[1]]!]
    const [pa, pb] = [Paragraph.formatNumber(a.population), Paragraph.formatNumber(b.population)]
    const winner = a.population > b.population ? a : b
    const loser = winner === a ? b : a
    return plan(wiki, max, "largerPopulation", `Which city has the larger population, ${a.name} or ${b.name}?`, winner.name, [
      { title: a.name, fact: "population", about: `the population of ${a.name}`, thought: `I need to search ${a.name} and ${b.name}, find their populations, then compare them.` },
      { title: b.name, fact: "population", about: `the population of ${b.name}`, thought: `${a.name} has a population of ${pa}. I need to search ${b.name} and find its population.` }
    ], `${b.name} has a population of ${pb}. ${Paragraph.formatNumber(winner.population)} is larger than ${Paragraph.formatNumber(loser.population)}, so the answer is ${winner.name}.`)
  },
  sameBirthCountry: (w, wiki, rng, max) => {
    const a = rng.pick(w.people)
    // Half the pairs share a country, so yes and no are equally likely.
    const wantSame = rng.chance(0.5)
    const pool = w.people.filter((p) => p !== a && (p.country === a.country) === wantSame)
    if (pool.length === 0) return undefined
    const b = rng.pick(pool)
    const [ca, cb] = [w.countries[a.country]!.name, w.countries[b.country]!.name]
    const same = a.country === b.country
    return plan(wiki, max, "sameBirthCountry", `Were ${a.name} and ${b.name} born in the same country?`, same ? "yes" : "no", [
      { title: a.name, fact: "birthCity", about: `where ${a.name} was born`, thought: `I need to search ${a.name} and ${b.name}, find the countries where they were born, then compare them.` },
      { title: b.name, fact: "birthCity", about: `where ${b.name} was born`, thought: `${a.name} was born in ${w.cities[a.city]!.name}, ${ca}. I need to search ${b.name} and find where ${b.pronoun} was born.` }
    ], `${b.name} was born in ${w.cities[b.city]!.name}, ${cb}. ${same ? `Both were born in ${ca}, so the answer is yes.` : `${ca} and ${cb} are different countries, so the answer is no.`}`)
  },
  bornFirst: (w, wiki, rng, max) => {
    const ab = pair(rng, w.people.length)
    if (ab === undefined) return undefined
    const [a, b] = [w.people[ab[0]]!, w.people[ab[1]]!]
    if (a.born === b.born) return undefined
    const winner = earlier({ name: a.name, year: a.born }, { name: b.name, year: b.born })
    return plan(wiki, max, "bornFirst", `Who was born first, ${a.name} or ${b.name}?`, winner, [
      { title: a.name, fact: "birthYear", about: `when ${a.name} was born`, thought: `I need to search ${a.name} and ${b.name}, find the years they were born, then compare them.` },
      { title: b.name, fact: "birthYear", about: `when ${b.name} was born`, thought: `${a.name} was born in ${a.born}. I need to search ${b.name} and find when ${b.pronoun} was born.` }
    ], `${b.name} was born in ${b.born}. ${Math.min(a.born, b.born)} is earlier than ${Math.max(a.born, b.born)}, so the answer is ${winner}.`)
  },
  foundedEarlier: (w, wiki, rng, max) => {
    const ab = pair(rng, w.organisations.length)
    if (ab === undefined) return undefined
    const [a, b] = [w.organisations[ab[0]]!, w.organisations[ab[1]]!]
    if (a.founded === b.founded) return undefined
    const winner = earlier({ name: a.name, year: a.founded }, { name: b.name, year: b.founded })
    return plan(wiki, max, "foundedEarlier", `Which organisation was founded earlier, ${a.name} or ${b.name}?`, winner, [
      { title: a.name, fact: "founding", about: `when ${a.name} was founded`, thought: `I need to search ${a.name} and ${b.name}, find the years they were founded, then compare them.` },
      { title: b.name, fact: "founding", about: `when ${b.name} was founded`, thought: `${a.name} was founded in ${a.founded}. I need to search ${b.name} and find when it was founded.` }
    ], `${b.name} was founded in ${b.founded}. ${Math.min(a.founded, b.founded)} is earlier than ${Math.max(a.founded, b.founded)}, so the answer is ${winner}.`)
  },
  sameCountryBased: (w, wiki, rng, max) => {
    const a = rng.pick(w.organisations)
    // Half the pairs share a country, so yes and no are equally likely.
    const wantSame = rng.chance(0.5)
    const pool = w.organisations.filter((o) => o !== a && (o.country === a.country) === wantSame)
    if (pool.length === 0) return undefined
    const b = rng.pick(pool)
    const [ca, cb] = [w.countries[a.country]!.name, w.countries[b.country]!.name]
    const same = a.country === b.country
    return plan(wiki, max, "sameCountryBased", `Are ${a.name} and ${b.name} based in the same country?`, same ? "yes" : "no", [
      { title: a.name, fact: "orgCountry", about: `where ${a.name} is based`, thought: `I need to search ${a.name} and ${b.name}, find the countries they are based in, then compare them.` },
      { title: b.name, fact: "orgCountry", about: `where ${b.name} is based`, thought: `${a.name} is based in ${ca}. I need to search ${b.name} and find where it is based.` }
    ], `${b.name} is based in ${cb}. ${same ? `Both are based in ${ca}, so the answer is yes.` : `${ca} and ${cb} are different countries, so the answer is no.`}`)
  },
  cameOutFirst: (w, wiki, rng, max) => {
    const ab = pair(rng, w.works.length)
    if (ab === undefined) return undefined
    const [a, b] = [w.works[ab[0]]!, w.works[ab[1]]!]
    if (a.year === b.year) return undefined
    const winner = earlier({ name: a.title, year: a.year }, { name: b.title, year: b.year })
    return plan(wiki, max, "cameOutFirst", `Which came out first, ${a.title} or ${b.title}?`, winner, [
      { title: a.title, fact: "workYear", about: `when ${a.title} came out`, thought: `I need to search ${a.title} and ${b.title}, find the years they came out, then compare them.` },
      { title: b.title, fact: "workYear", about: `when ${b.title} came out`, thought: `${a.title} came out in ${a.year}. I need to search ${b.title} and find when it came out.` }
    ], `${b.title} came out in ${b.year}. ${Math.min(a.year, b.year)} is earlier than ${Math.max(a.year, b.year)}, so the answer is ${winner}.`)
  },
  cityFoundedEarlier: (w, wiki, rng, max) => {
    const ab = pair(rng, w.cities.length)
    if (ab === undefined) return undefined
    const [a, b] = [w.cities[ab[0]]!, w.cities[ab[1]]!]
    if (a.founded === b.founded) return undefined
    const winner = earlier({ name: a.name, year: a.founded }, { name: b.name, year: b.founded })
    return plan(wiki, max, "cityFoundedEarlier", `Which city was founded earlier, ${a.name} or ${b.name}?`, winner, [
      { title: a.name, fact: "cityFounded", about: `when ${a.name} was founded`, thought: `I need to search ${a.name} and ${b.name}, find the years they were founded, then compare them.` },
      { title: b.name, fact: "cityFounded", about: `when ${b.name} was founded`, thought: `${a.name} was founded in ${a.founded}. I need to search ${b.name} and find when it was founded.` }
    ], `${b.name} was founded in ${b.founded}. ${Math.min(a.founded, b.founded)} is earlier than ${Math.max(a.founded, b.founded)}, so the answer is ${winner}.`)
  }
}

const allTypes: ReadonlyArray<QuestionType> = [...bridgeTypes, ...comparisonTypes]

/** `n` distinct questions (by text) over a world, types drawn uniformly. */
export const generate = (w: World.World, wiki: Wiki.Wiki, seed: number, n: number, maxSteps: number): ReadonlyArray<Question> => {
  const rng = Rng.make(Hash.joined("qa-questions", seed, w.split))
  const seen = new Set<string>()
  const out: Array<Question> = []
  // 50 tries a question: duplicates and rejected plans are rare, so this bound only trips on a bug.
  for (let attempt = 0; out.length < n; attempt++) {
    if (attempt > n * 50) throw new Error(`Question.generate: only ${out.length} of ${n} distinct questions (world too small)`)
    const q = makers[rng.pick(allTypes)](w, wiki, rng, maxSteps)
    if (q === undefined || seen.has(q.text)) continue
    seen.add(q.text)
    out.push(q)
  }
  return out
}
