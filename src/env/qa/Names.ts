import type { Split } from "../../domain/TaskId.ts"
import * as Answer from "./Answer.ts"
import * as Hash from "../../random/Hash.ts"
import * as Rng from "../../random/Rng.ts"

/**
 * Fictional names from syllable generators. A `Pool` hands out names that are unique within a
 * knowledge base and belong to its split: a name's split is fixed by its hash, so the train and
 * test worlds can never share a name, whatever seed made them.
 */

const onsets = ["b", "br", "c", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p", "r", "s", "st", "t", "tr", "v", "z", "th", "sh", "ch"]
const vowels = ["a", "e", "i", "o", "u", "a", "e", "o", "i", "a", "ei", "ia"]
const codas = ["", "", "", "", "n", "r", "l", "s", "th", "k", "m", "nd", "rn", "x", "sk"]

/** Whole words that HotpotQA normalisation would drop or that read as English glue. */
const stopWords = new Set(["a", "an", "the", "and", "of", "in", "on", "is", "it", "to", "he", "she"])
/** Fragments of the lookup keywords: a name holding one would add spurious lookup results. */
const banned = ["born", "found", "popul", "head", "capital", "died", "known", "record", "publish", "produc", "direct", "writ", "office", "release"]

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

/** One made-up word of `syllables` syllables, capitalised (never a stop word, at least 3 letters). */
export const word = (rng: Rng.Rng, syllables: number): string => {
  for (;;) {
    let w = ""
    for (let i = 0; i < syllables; i++) {
      w += rng.pick(onsets) + rng.pick(vowels) + (i === syllables - 1 || rng.chance(0.2) ? rng.pick(codas) : "")
    }
    if (w.length >= 3 && !stopWords.has(w)) return capitalise(w)
  }
}

/**
 * The split a name belongs to (by the hash of its normalised answer form): train and test worlds
 * draw from disjoint halves of name space, and names that score as the same answer share a split.
 */
export const splitOf = (name: string): Split => (Hash.joined("qa-name", Answer.normalize(name)) & 1) === 0 ? "train" : "test"

const acceptable = (name: string): boolean => {
  const lower = name.toLowerCase()
  return !banned.some((b) => lower.includes(b))
}

export interface Pool {
  /** Draws from `gen` until the name is new, readable and of this pool's split. */
  readonly fresh: (gen: () => string) => string
  readonly has: (name: string) => boolean
}

export const pool = (split: Split): Pool => {
  const used = new Set<string>()
  return {
    fresh: (gen) => {
      // 10,000 draws: the name spaces hold millions of names, so running out means a generator bug.
      for (let attempt = 0; attempt < 10_000; attempt++) {
        const name = gen()
        // Unique as answers: "River of Kal" and "The River of Kal" normalise alike, so only one may exist.
        const key = Answer.normalize(name)
        if (used.has(key) || splitOf(name) !== split || !acceptable(name)) continue
        used.add(key)
        return name
      }
      throw new Error("Names.pool: name space exhausted")
    },
    has: (name) => used.has(Answer.normalize(name))
  }
}

export const person = (rng: Rng.Rng): string => `${word(rng, rng.between(1, 2))} ${word(rng, rng.chance(0.8) ? 2 : 3)}`

export const city = (rng: Rng.Rng): string => word(rng, rng.chance(0.8) ? 2 : 3) + rng.pick(["", "", "", "", "a", "ora", "ton", "grad", "vale"])

export const country = (rng: Rng.Rng): string => word(rng, 2) + rng.pick(["ia", "land", "stan", "or", "ica", "ova", ""])

const adjectives = ["Silent", "Crimson", "Hollow", "Distant", "Golden", "Broken", "Quiet", "Burning", "Silver", "Frozen", "Hidden", "Last", "Northern", "Pale", "Restless", "Wandering", "Endless", "Bitter", "Gentle", "Iron", "Scarlet", "Velvet", "Wild", "Lonely"]
const nouns = ["River", "Harbour", "Garden", "Mirror", "Lantern", "Winter", "Orchard", "Tide", "Bridge", "Compass", "Lighthouse", "Meadow", "Citadel", "Voyage", "Letter", "Season", "Shadow", "Horizon", "Archive", "Carnival", "Tower", "Island", "Feather", "Signal"]

/** A title for a film, novel or album. */
export const work = (rng: Rng.Rng): string => {
  switch (rng.int(5)) {
    case 0:
      return `The ${rng.pick(adjectives)} ${rng.pick(nouns)}`
    case 1:
      return `${rng.pick(nouns)} of ${word(rng, 2)}`
    case 2:
      return `The ${rng.pick(nouns)} of ${word(rng, rng.between(2, 3))}`
    case 3:
      return `${rng.pick(adjectives)} ${word(rng, 2)}`
    default:
      return `${word(rng, 2)} ${rng.pick(nouns)}`
  }
}

/** An organisation's name: a made-up word and a suffix fitting its kind. */
export const organisation = (rng: Rng.Rng, suffixes: ReadonlyArray<string>): string =>
  `${word(rng, 2)} ${rng.pick(suffixes)}`
