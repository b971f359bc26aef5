/**
 * Byte-level BPE: training from word frequencies, encoding, decoding, and the JSON it is saved as.
 *
 * Ids: the special tokens 0..5 (src/data/Tokenizer.ts), the 256 bytes at 6..261, then one id per merge
 * in the order merges were learned (merge k makes id 262 + k). Text is split into pre-tokens (words,
 * numbers, punctuation runs, whitespace; see `pattern`), each pre-token is UTF-8 encoded
 * and its bytes are merged by rank. Merges never cross a pre-token boundary.
 *
 * Checked before writing this (2026-11): `@huggingface/tokenizers` (pure JS) loads and encodes but cannot
 * train; `tokenizers` (the Rust bindings) needs a native binary per platform; `gpt-tokenizer`,
 * `js-tiktoken` and `tiktoken` load fixed OpenAI vocabularies and cannot train. Hence this file.
 */
import { createHash } from "node:crypto"
import { Effect, FileSystem, Function, Schema } from "effect"
import { DataError } from "../domain/DataError.ts"
import { BYTE_OFFSET, type Tokenizer, specialTokens } from "./Tokenizer.ts"

/** Id of the first merge: specials, then the 256 bytes. */
export const FIRST_MERGE = BYTE_OFFSET + 256

/** Largest vocabulary: pair keys `a * KEY_SCALE + b` stay exact doubles and ids stay small. */
export const MAX_VOCAB = 1 << 21
const KEY_SCALE = MAX_VOCAB

/**
 * Pre-tokenizer: letters, digits in groups of at most 3 (as in cl100k, so prices and ids do not fill the
 * vocabulary), runs of other symbols, and whitespace runs, each its own piece. Unlike GPT-2, a word does
 * not carry the space before it: a name copied from an observation into an action (`Question: ... Diji
 * Pictures?` -> `search[Diji Pictures]`) then has the same tokens in both places, which is what lets a
 * small model learn to copy names it never saw (with GPT-2's ` ?\p{L}+`, "Grili" after a space is
 * `" Gr","il","i"` but after `[` it is `"G","r","il","i"`). Measured on the qa data: a copied name is
 * one induction step instead of an unseen re-spelling; the price is one space token per word (sequences
 * ~25% longer). The alternatives cover every code unit, so the pieces concatenate back to the text.
 */
export const pattern = /\p{L}+|\p{N}{1,3}|[^\s\p{L}\p{N}]+|\s+/gu

/** Longest pre-token in UTF-16 code units: longer runs are cut (at a code point boundary). Bounds the
 * quadratic merge loop and the cache keys; words in agent text are far shorter. */
export const MAX_PIECE = 256

/** Names the pre-tokenizer (pattern and cut) in the JSON, so a file is never used with another one. */
export const PRETOKENIZER = "split-space-unicode-n3-cut256"

/** The JSON version this code reads and writes: 2 (the `<|gap|>` special and the space-apart pre-tokenizer). */
export const VERSION = 2

/** Calls `f` with every pre-token of `text`, in order. */
export const eachPiece = (text: string, f: (piece: string) => void): void => {
  const re = new RegExp(pattern)
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    const w = m[0]
    if (w.length <= MAX_PIECE) {
      f(w)
      continue
    }
    let i = 0
    while (i < w.length) {
      let end = Math.min(i + MAX_PIECE, w.length)
      // Never split a surrogate pair.
      if (end < w.length && isHighSurrogate(w.charCodeAt(end - 1)) && isLowSurrogate(w.charCodeAt(end))) end -= 1
      f(w.slice(i, end))
      i = end
    }
  }
}

/** The pre-tokens of `text` (for tests and inspection). */
export const pretokenize = (text: string): Array<string> => {
  const out: Array<string> = []
  eachPiece(text, (p) => out.push(p))
  return out
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff
const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true })

// ---------------------------------------------------------------------------------------------
// The tokenizer

/** A trained byte-level BPE: the `Tokenizer` contract plus its merges. */
export interface Bpe extends Tokenizer {
  /** Merge k joins ids `merges[2k]` and `merges[2k + 1]` into id 262 + k. */
  readonly merges: Int32Array
  readonly mergeCount: number
  /** The bytes a token id stands for (empty for special tokens). */
  readonly bytesOf: (id: number) => Uint8Array
  /** The canonical JSON: what `hash` is computed from and `save` writes. */
  readonly toJSON: () => BpeJson
}

/** Words cached per tokenizer: ~10 MB of short arrays at most, far more than the distinct words of an agent corpus. */
export const CACHE_SIZE = 50_000

/** Builds a tokenizer from its merges (flattened pairs). Merges must be valid (see `load`). */
export const fromMerges = (merges: Int32Array): Bpe => {
  const mergeCount = merges.length / 2
  const vocabSize = FIRST_MERGE + mergeCount
  const ranks = new Map<number, number>()
  for (let k = 0; k < mergeCount; k++) ranks.set(merges[2 * k]! * KEY_SCALE + merges[2 * k + 1]!, k)

  // Bytes of every id, built in id order (a merge only refers to earlier ids).
  const bytes: Array<Uint8Array> = []
  for (let i = 0; i < BYTE_OFFSET; i++) bytes.push(new Uint8Array(0))
  for (let b = 0; b < 256; b++) bytes.push(Uint8Array.of(b))
  for (let k = 0; k < mergeCount; k++) {
    const l = bytes[merges[2 * k]!]!
    const r = bytes[merges[2 * k + 1]!]!
    const t = new Uint8Array(l.length + r.length)
    t.set(l, 0)
    t.set(r, l.length)
    bytes.push(t)
  }

  const cache = new Map<string, Int32Array>()
  const encodeWord = (word: string): Int32Array => {
    const raw = utf8.encode(word)
    const syms = new Int32Array(raw.length)
    for (let i = 0; i < raw.length; i++) syms[i] = raw[i]! + BYTE_OFFSET
    let len = syms.length
    // Repeatedly merge the lowest-ranked pair. Every occurrence of it merges in one left-to-right pass:
    // a merge's result only pairs with later (higher-ranked) merges, so this equals merging the
    // leftmost occurrence one at a time.
    while (len > 1) {
      let best = Infinity
      for (let i = 0; i + 1 < len; i++) {
        const r = ranks.get(syms[i]! * KEY_SCALE + syms[i + 1]!)
        if (r !== undefined && r < best) best = r
      }
      if (best === Infinity) break
      const a = merges[2 * best]!
      const b = merges[2 * best + 1]!
      const id = FIRST_MERGE + best
      let j = 0
      for (let i = 0; i < len; i++) {
        if (i + 1 < len && syms[i] === a && syms[i + 1] === b) {
          syms[j++] = id
          i++
        } else {
          syms[j++] = syms[i]!
        }
      }
      len = j
    }
    return syms.slice(0, len)
  }

  const encode = (text: string): Int32Array => {
    // Token count is at most the UTF-8 byte count (<= 3 per code unit); grown on demand.
    let out = new Int32Array(Math.max(16, text.length))
    let n = 0
    eachPiece(text, (piece) => {
      let ids = cache.get(piece)
      if (ids === undefined) {
        ids = encodeWord(piece)
        if (cache.size >= CACHE_SIZE) cache.clear()
        cache.set(piece, ids)
      }
      if (n + ids.length > out.length) {
        const grown = new Int32Array(Math.max(out.length * 2, n + ids.length))
        grown.set(out.subarray(0, n))
        out = grown
      }
      if (ids.length === 1) out[n++] = ids[0]!
      else {
        out.set(ids, n)
        n += ids.length
      }
    })
    return out.slice(0, n)
  }

  const bytesOf = (id: number): Uint8Array => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${vocabSize})`)
    return bytes[id]!
  }

  const decode = (ids: ArrayLike<number>): string => {
    let total = 0
    for (let i = 0; i < ids.length; i++) total += bytesOf(ids[i]!).length
    const buf = new Uint8Array(total)
    let o = 0
    for (let i = 0; i < ids.length; i++) {
      const t = bytes[ids[i]!]!
      if (t.length === 1) buf[o++] = t[0]!
      else {
        buf.set(t, o)
        o += t.length
      }
    }
    return utf8Decoder.decode(buf)
  }

  const json: BpeJson = {
    format: "stepagent-bpe",
    version: VERSION,
    pretokenizer: PRETOKENIZER,
    specials: specialTokens,
    vocabSize,
    merges: Array.from({ length: mergeCount }, (_, k) => [merges[2 * k]!, merges[2 * k + 1]!] as const)
  }
  const hash = createHash("sha256")
    .update(JSON.stringify({ pretokenizer: PRETOKENIZER, specials: specialTokens, merges: json.merges }))
    .digest("hex")
    .slice(0, 16)

  return { vocabSize, merges, mergeCount, encode, decode, bytesOf, toJSON: () => json, hash }
}

// ---------------------------------------------------------------------------------------------
// The JSON form

const Id = Schema.Int.check(Schema.isBetween({ minimum: BYTE_OFFSET, maximum: MAX_VOCAB - 1 }))

/** The saved tokenizer. Merges are `[left, right]` id pairs; merge k makes id 262 + k. */
export const BpeJson = Schema.Struct({
  format: Schema.Literal("stepagent-bpe"),
  version: Schema.Literal(VERSION),
  pretokenizer: Schema.Literal(PRETOKENIZER),
  specials: Schema.Tuple([
    Schema.Literal(specialTokens[0]),
    Schema.Literal(specialTokens[1]),
    Schema.Literal(specialTokens[2]),
    Schema.Literal(specialTokens[3]),
    Schema.Literal(specialTokens[4]),
    Schema.Literal(specialTokens[5])
  ]),
  vocabSize: Schema.Int,
  merges: Schema.Array(Schema.Tuple([Id, Id]))
})
export type BpeJson = typeof BpeJson.Type

/** Why a tokenizer could not be made. */
export const BpeErrorReason = Schema.Literals(["InvalidVocabSize", "InvalidJson", "Outdated"])
export type BpeErrorReason = typeof BpeErrorReason.Type

/** A tokenizer could not be trained or loaded: `message` is one line. */
export class BpeError extends Schema.TaggedError<BpeError>()("BpeError", {
  reason: BpeErrorReason,
  message: Schema.String
}) {}

/** A tokenizer file written by an earlier stepagent (another pre-tokenizer or special set): never silently misread. */
const outdated = (json: unknown): string | undefined => {
  if (typeof json !== "object" || json === null) return undefined
  const j = json as { readonly format?: unknown; readonly version?: unknown; readonly pretokenizer?: unknown }
  if (j.format !== "stepagent-bpe" || j.version === VERSION || typeof j.version !== "number") return undefined
  return `tokenizer version ${j.version} (pre-tokenizer ${String(j.pretokenizer)}) was written by an older stepagent; this one reads version ${VERSION} (${PRETOKENIZER}, specials ${specialTokens.join(" ")}): retrain it with \`stepagent tokenizer train\` (checkpoints holding it need retraining too)`
}

const invalid = (message: string): BpeError => new BpeError({ reason: "InvalidJson", message: `invalid tokenizer JSON: ${message}` })

/** Validates the JSON form (schema, then that every merge refers to earlier ids, once) and builds the tokenizer. */
export const load = Effect.fn("Bpe.load")(function*(json: unknown) {
  const old = outdated(json)
  if (old !== undefined) return yield* new BpeError({ reason: "Outdated", message: old })
  const parsed = yield* Schema.decodeUnknownEffect(BpeJson)(json).pipe(
    Effect.mapError((e) => invalid(e.message.replace(/\s+/g, " ")))
  )
  const n = parsed.merges.length
  if (parsed.vocabSize !== FIRST_MERGE + n) {
    return yield* invalid(`vocabSize is ${parsed.vocabSize} but ${n} merges give ${FIRST_MERGE + n}`)
  }
  const merges = new Int32Array(2 * n)
  const seen = new Set<number>()
  for (let k = 0; k < n; k++) {
    const [a, b] = parsed.merges[k]!
    const id = FIRST_MERGE + k
    if (a >= id || b >= id) return yield* invalid(`merge ${k} ([${a},${b}]) refers to an id not defined before ${id}`)
    const key = a * KEY_SCALE + b
    if (seen.has(key)) return yield* invalid(`merge ${k} ([${a},${b}]) repeats an earlier merge`)
    seen.add(key)
    merges[2 * k] = a
    merges[2 * k + 1] = b
  }
  return fromMerges(merges)
})

/** The JSON text written by `save`: stable key order, one merge per line, so the same merges give the same bytes. */
export const format = (bpe: Bpe): string => {
  const j = bpe.toJSON()
  const head = [
    `  "format": ${JSON.stringify(j.format)}`,
    `  "version": ${j.version}`,
    `  "pretokenizer": ${JSON.stringify(j.pretokenizer)}`,
    `  "specials": ${JSON.stringify(j.specials)}`,
    `  "vocabSize": ${j.vocabSize}`
  ]
  const merges = j.merges.length === 0 ? `  "merges": []` : `  "merges": [\n${j.merges.map(([a, b]) => `    [${a},${b}]`).join(",\n")}\n  ]`
  return `{\n${[...head, merges].join(",\n")}\n}\n`
}

/** Writes the tokenizer as JSON (`format`). */
export const save: {
  (path: string): (bpe: Bpe) => Effect.Effect<void, DataError, FileSystem.FileSystem>
  (bpe: Bpe, path: string): Effect.Effect<void, DataError, FileSystem.FileSystem>
} = Function.dual(2, (bpe: Bpe, path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.writeFileString(path, format(bpe)).pipe(
      Effect.mapError((e) => new DataError({ reason: "Io", path, message: `${path}: cannot write the tokenizer: ${e.message}` }))
    )
  }).pipe(Effect.withSpan("Bpe.save")))

/** Reads and validates a tokenizer file. */
export const loadFile = Effect.fn("Bpe.loadFile")(function*(path: string) {
  const fs = yield* FileSystem.FileSystem
  const text = yield* fs.readFileString(path).pipe(
    Effect.mapError((e) =>
      e.reason._tag === "NotFound"
        ? new DataError({ reason: "NotFound", path, message: `${path}: no such file` })
        : new DataError({ reason: "Io", path, message: `${path}: cannot read: ${e.message}` })
    )
  )
  const json = yield* Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: (e) => new DataError({ reason: "Decode", path, message: `${path}: not JSON (${e instanceof Error ? e.message : String(e)})` })
  })
  return yield* load(json).pipe(Effect.mapError((e) => new DataError({ reason: "Decode", path, message: `${path}: ${e.message}` })))
})

// ---------------------------------------------------------------------------------------------
// Training

/** Distinct words kept while counting: ~30 MB of map; agent corpora have far fewer distinct words. */
export const DEFAULT_MAX_WORDS = 200_000
/** A pair seen once compresses nothing beyond one word: stop merging below two occurrences. */
export const DEFAULT_MIN_FREQUENCY = 2

/** Word frequencies accumulated from a stream of texts, in bounded memory. */
export interface WordCounts {
  /** Adds the pre-tokens of one text. */
  readonly add: (text: string) => void
  /** Texts added, their UTF-8 bytes, and how many rare words were dropped to stay under the cap. */
  readonly stats: () => { readonly texts: number; readonly bytes: number; readonly words: number; readonly pruned: number }
  readonly entries: () => Iterable<readonly [string, number]>
}

/**
 * Counts pre-tokens. When more than `maxWords` distinct words are held, the rarest are dropped
 * (count <= 1, then <= 2, ...) until a quarter of the room is free again, so memory stays bounded and
 * pruning is amortized; only rare words lose counts, which barely moves the frequent pairs BPE picks.
 */
export const wordCounts = (options?: { readonly maxWords?: number }): WordCounts => {
  const maxWords = options?.maxWords ?? DEFAULT_MAX_WORDS
  const counts = new Map<string, number>()
  let texts = 0
  let bytes = 0
  let pruned = 0
  const prune = (): void => {
    const target = Math.floor(maxWords * 0.75)
    for (let t = 1; counts.size > target; t++) {
      for (const [w, c] of counts) {
        if (c <= t) {
          counts.delete(w)
          pruned++
        }
      }
    }
  }
  return {
    add: (text) => {
      texts++
      bytes += Buffer.byteLength(text, "utf8")
      eachPiece(text, (w) => {
        counts.set(w, (counts.get(w) ?? 0) + 1)
      })
      if (counts.size > maxWords) prune()
    },
    stats: () => ({ texts, bytes, words: counts.size, pruned }),
    entries: () => counts.entries()
  }
}

export interface TrainOptions {
  /** Total vocabulary (specials + bytes + merges), >= 262. Fewer merges are learned when pairs run out. */
  readonly vocabSize: number
  readonly minFrequency?: number
}

/** Checks a requested vocabulary size. */
export const checkVocabSize = (vocabSize: number): Effect.Effect<number, BpeError> =>
  Number.isInteger(vocabSize) && vocabSize >= FIRST_MERGE && vocabSize <= MAX_VOCAB
    ? Effect.succeed(vocabSize)
    : Effect.fail(
      new BpeError({
        reason: "InvalidVocabSize",
        message: `vocabulary size ${vocabSize} must be an integer between ${FIRST_MERGE} (6 specials + 256 bytes) and ${MAX_VOCAB}`
      })
    )

/**
 * Learns merges from word counts: the most frequent adjacent pair (summed over words, weighted by
 * count) is merged each round; ties go to the smaller (left, right) ids, so the result depends only
 * on the counts. Pair counts are updated incrementally in the words that hold the merged pair, and
 * the best pair comes from a max-heap with lazy deletion (pair counts only fall once a pair exists).
 */
export const fromCounts = Effect.fn("Bpe.fromCounts")(function*(counts: WordCounts, options: TrainOptions) {
  const vocabSize = yield* checkVocabSize(options.vocabSize)
  const minFrequency = options.minFrequency ?? DEFAULT_MIN_FREQUENCY
  return learn(counts.entries(), vocabSize - FIRST_MERGE, Math.max(1, minFrequency))
})

/** Trains on every text of `texts` (counts words, then learns merges). */
export const train = Effect.fn("Bpe.train")(function*(texts: Iterable<string>, options: TrainOptions & { readonly maxWords?: number }) {
  yield* checkVocabSize(options.vocabSize)
  const counts = wordCounts(options.maxWords === undefined ? undefined : { maxWords: options.maxWords })
  for (const t of texts) counts.add(t)
  return yield* fromCounts(counts, options)
})

const learn = (entries: Iterable<readonly [string, number]>, maxMerges: number, minFrequency: number): Bpe => {
  const words: Array<Int32Array> = []
  const freq: Array<number> = []
  for (const [w, c] of entries) {
    const raw = utf8.encode(w)
    if (raw.length < 2) continue // a single byte holds no pair
    const syms = new Int32Array(raw.length)
    for (let i = 0; i < raw.length; i++) syms[i] = raw[i]! + BYTE_OFFSET
    words.push(syms)
    freq.push(c)
  }

  const pairCount = new Map<number, number>()
  const where = new Map<number, Set<number>>()
  const bump = (key: number, delta: number, w: number): void => {
    const c = (pairCount.get(key) ?? 0) + delta
    if (c === 0) pairCount.delete(key)
    else pairCount.set(key, c)
    if (delta > 0) {
      let s = where.get(key)
      if (s === undefined) where.set(key, s = new Set())
      s.add(w)
    }
  }
  for (let w = 0; w < words.length; w++) {
    const s = words[w]!
    for (let i = 0; i + 1 < s.length; i++) bump(s[i]! * KEY_SCALE + s[i + 1]!, freq[w]!, w)
  }

  const heap = new PairHeap()
  for (const [key, c] of pairCount) heap.push(c, key)

  const merges: Array<number> = []
  while (merges.length / 2 < maxMerges && heap.size > 0) {
    const top = heap.pop()
    const actual = pairCount.get(top.key) ?? 0
    if (actual !== top.count) {
      if (actual > 0) heap.push(actual, top.key)
      continue
    }
    if (actual < minFrequency) break
    const a = Math.floor(top.key / KEY_SCALE)
    const b = top.key % KEY_SCALE
    const id = FIRST_MERGE + merges.length / 2
    merges.push(a, b)
    const fresh = new Set<number>() // pairs involving the new id
    for (const w of where.get(top.key) ?? []) {
      const s = words[w]!
      const c = freq[w]!
      let found = false
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] === a && s[i + 1] === b) {
          found = true
          break
        }
      }
      if (!found) continue
      const out = new Int32Array(s.length)
      let j = 0
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          if (j > 0) {
            const left = out[j - 1]!
            bump(left * KEY_SCALE + a, -c, w)
            bump(left * KEY_SCALE + id, c, w)
            fresh.add(left * KEY_SCALE + id)
          }
          if (i + 2 < s.length) {
            const right = s[i + 2]!
            bump(b * KEY_SCALE + right, -c, w)
            bump(id * KEY_SCALE + right, c, w)
            fresh.add(id * KEY_SCALE + right)
          }
          out[j++] = id
          i++
        } else {
          out[j++] = s[i]!
        }
      }
      words[w] = out.slice(0, j)
    }
    pairCount.delete(top.key)
    where.delete(top.key)
    for (const key of fresh) {
      const c = pairCount.get(key)
      if (c !== undefined && c > 0) heap.push(c, key)
    }
  }
  return fromMerges(Int32Array.from(merges))
}

/** Max-heap of (count, pair key): larger count first, then smaller key (smaller left id, then right id). */
class PairHeap {
  private counts: Array<number> = []
  private keys: Array<number> = []
  get size(): number {
    return this.counts.length
  }
  private above(i: number, j: number): boolean {
    const ci = this.counts[i]!
    const cj = this.counts[j]!
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!)
  }
  private swap(i: number, j: number): void {
    const c = this.counts[i]!
    this.counts[i] = this.counts[j]!
    this.counts[j] = c
    const k = this.keys[i]!
    this.keys[i] = this.keys[j]!
    this.keys[j] = k
  }
  push(count: number, key: number): void {
    this.counts.push(count)
    this.keys.push(key)
    let i = this.counts.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.above(i, p)) break
      this.swap(i, p)
      i = p
    }
  }
  pop(): { readonly count: number; readonly key: number } {
    const top = { count: this.counts[0]!, key: this.keys[0]! }
    const lastCount = this.counts.pop()!
    const lastKey = this.keys.pop()!
    if (this.counts.length > 0) {
      this.counts[0] = lastCount
      this.keys[0] = lastKey
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < this.counts.length && this.above(l, m)) m = l
        if (r < this.counts.length && this.above(r, m)) m = r
        if (m === i) break
        this.swap(i, m)
        i = m
      }
    }
    return top
  }
}
