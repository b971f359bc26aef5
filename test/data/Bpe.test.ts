import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { fc, it as prop } from "@fast-check/vitest"
import { Effect, Exit } from "effect"
import * as Bpe from "../../src/data/Bpe.ts"
import { BYTE_OFFSET, EOA, specialTokens } from "../../src/data/Tokenizer.ts"

// A small agent-like corpus: repeated words give merges, prices and ids give digits and punctuation.
const corpus: Array<string> = []
for (let i = 0; i < 60; i++) {
  corpus.push(
    `WebShop [SEP] Instruction: [SEP] i need a blue cotton t-shirt under ${10 + i} dollars [SEP] Search`,
    `Thought: I should search for the shirt first.\nAction: search[blue cotton t-shirt ${i % 7}]`,
    `[Back to Search] [B0${(i * 7919).toString(36).toUpperCase()}] Blue Cotton T-Shirt, size M $${(i * 1.37).toFixed(2)}`,
    "Action: click[buy now] <|eoa|> naïve café — 東京 🙂"
  )
}
const bpe = Effect.runSync(Bpe.train(corpus, { vocabSize: 400 }))

/** Reference trainer: recounts every pair each round (slow, obviously right), same tie-breaking. */
const naiveTrain = (texts: ReadonlyArray<string>, vocabSize: number, minFrequency: number): Array<number> => {
  const counts = new Map<string, number>()
  for (const t of texts) for (const w of Bpe.pretokenize(t)) counts.set(w, (counts.get(w) ?? 0) + 1)
  let words = [...counts].map(([w, c]) => ({ syms: Array.from(new TextEncoder().encode(w), (b) => b + BYTE_OFFSET), c }))
  const merges: Array<number> = []
  while (Bpe.FIRST_MERGE + merges.length / 2 < vocabSize) {
    const pairs = new Map<string, { a: number; b: number; n: number }>()
    for (const { syms, c } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = `${syms[i]},${syms[i + 1]}`
        const p = pairs.get(k) ?? { a: syms[i]!, b: syms[i + 1]!, n: 0 }
        p.n += c
        pairs.set(k, p)
      }
    }
    let best: { a: number; b: number; n: number } | undefined
    for (const p of pairs.values()) {
      if (best === undefined || p.n > best.n || (p.n === best.n && (p.a < best.a || (p.a === best.a && p.b < best.b)))) best = p
    }
    if (best === undefined || best.n < minFrequency) break
    const id = Bpe.FIRST_MERGE + merges.length / 2
    merges.push(best.a, best.b)
    words = words.map(({ syms, c }) => {
      const out: Array<number> = []
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === best.a && syms[i + 1] === best.b) {
          out.push(id)
          i++
        } else out.push(syms[i]!)
      }
      return { syms: out, c }
    })
  }
  return merges
}

/** Reference encoder: merges the leftmost lowest-ranked pair, one at a time. */
const naiveEncode = (tok: Bpe.Bpe, text: string): Array<number> => {
  const rank = new Map<string, number>()
  for (let k = 0; k < tok.mergeCount; k++) rank.set(`${tok.merges[2 * k]},${tok.merges[2 * k + 1]}`, k)
  const out: Array<number> = []
  for (const w of Bpe.pretokenize(text)) {
    const syms = Array.from(new TextEncoder().encode(w), (b) => b + BYTE_OFFSET)
    for (;;) {
      let best = -1
      let at = -1
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = rank.get(`${syms[i]},${syms[i + 1]}`)
        if (r !== undefined && (best < 0 || r < best)) {
          best = r
          at = i
        }
      }
      if (at < 0) break
      syms.splice(at, 2, Bpe.FIRST_MERGE + best)
    }
    out.push(...syms)
  }
  return out
}

// Any UTF-16 string: lone surrogates included.
const anyString = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 60 })
const mixedString = fc.oneof(
  anyString,
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.string({ unit: fc.constantFrom("a", "b", " ", "ab", "t-shirt", "[", "]", "1", "\n", "é", "🙂", "<|eoa|>"), maxLength: 30 })
)

describe("Bpe pre-tokenizer", () => {
  it("splits words, digit groups, punctuation runs and whitespace apart (no leading space on words)", () => {
    assert.deepStrictEqual(Bpe.pretokenize("Hello world's 12345 $9.99!!  search[x]\n\nok"), [
      "Hello",
      " ",
      "world",
      "'",
      "s",
      " ",
      "123",
      "45",
      " ",
      "$",
      "9",
      ".",
      "99",
      "!!",
      "  ",
      "search",
      "[",
      "x",
      "]",
      "\n\n",
      "ok"
    ])
  })
  // The property that lets a small model copy a name it never saw from an observation into an action.
  const word = fc.stringMatching(/^[A-Z][a-z]{1,12}( [A-Z][a-z]{1,10}){0,2}$/)
  prop.prop([word, fc.constantFrom("Question: Which is older, ", "Results: [SEP] ", "\n", "You see a "), fc.constantFrom("search[", "click[", "finish[", "take ")], { seed: 5, numRuns: 300 })(
    "a name copied from an observation into an action has the same tokens in both",
    (name, before, action) => {
      const inObs = bpe.encode(`${before}${name}, then more.`)
      const inAct = bpe.encode(`${action}${name}]`)
      const ids = Array.from(bpe.encode(name))
      const has = (xs: Int32Array) => Array.from(xs).some((_, i) => ids.every((id, k) => xs[i + k] === id))
      assert.isTrue(has(inObs), `${JSON.stringify(name)} in the observation`)
      assert.isTrue(has(inAct), `${JSON.stringify(name)} in the action`)
    }
  )
  prop.prop([anyString], { seed: 7, numRuns: 300 })("pieces concatenate back to the text and are at most MAX_PIECE long", (s) => {
    const pieces = Bpe.pretokenize(s)
    assert.strictEqual(pieces.join(""), s)
    for (const p of pieces) assert.isAtMost(p.length, Bpe.MAX_PIECE)
  })
  it("cuts long runs at code point boundaries", () => {
    const s = "a".repeat(255) + "😀" + "b".repeat(600)
    const pieces = Bpe.pretokenize(s)
    assert.strictEqual(pieces.join(""), s)
    assert.strictEqual(pieces[0], "a".repeat(255)) // the pair is not split: it moves to the next piece
    assert.isTrue(pieces[1]!.startsWith("😀"))
  })
})

describe("Bpe encode/decode", () => {
  it("learns the requested vocabulary on a corpus with enough pairs", () => {
    assert.strictEqual(bpe.vocabSize, 400)
    assert.strictEqual(bpe.mergeCount, 400 - 262)
  })
  prop.prop([mixedString], { seed: 11, numRuns: 400 })("decode inverts encode (lone surrogates become U+FFFD)", (s) => {
    assert.strictEqual(bpe.decode(bpe.encode(s)), s.toWellFormed())
  })
  prop.prop([mixedString], { seed: 13, numRuns: 200 })("encode equals the leftmost-lowest-rank reference", (s) => {
    assert.deepStrictEqual(Array.from(bpe.encode(s)), naiveEncode(bpe, s))
  })
  prop.prop([mixedString], { seed: 17, numRuns: 200 })("never emits a special token", (s) => {
    for (const id of bpe.encode(s)) assert.isAtLeast(id, BYTE_OFFSET)
  })
  it("encodes special-token text as ordinary bytes", () => {
    const ids = bpe.encode("<|eoa|><|pad|>")
    assert.isFalse(Array.from(ids).includes(EOA))
    assert.strictEqual(bpe.decode(ids), "<|eoa|><|pad|>")
  })
  it("compresses the text it was trained on", () => {
    const text = corpus.slice(0, 4).join("")
    assert.isBelow(bpe.encode(text).length, Buffer.byteLength(text) / 2)
  })
  it("drops special ids in decode and rejects ids outside the vocabulary", () => {
    const ids = [...bpe.encode("ab"), EOA]
    assert.strictEqual(bpe.decode(ids), "ab")
    assert.throws(() => bpe.decode([bpe.vocabSize]), /outside the vocabulary/)
  })
  it("without merges, each byte is its own token", () => {
    const bytes = Bpe.fromMerges(new Int32Array(0))
    assert.strictEqual(bytes.vocabSize, 262)
    assert.deepStrictEqual(Array.from(bytes.encode("aé")), [0x61 + BYTE_OFFSET, 0xc3 + BYTE_OFFSET, 0xa9 + BYTE_OFFSET])
  })
  it("stays correct past the word cache bound", () => {
    const words = Array.from({ length: Bpe.CACHE_SIZE + 10 }, (_, i) => `w${i.toString(36)}`).join(" ")
    const tok = Bpe.fromMerges(bpe.merges)
    assert.strictEqual(tok.decode(tok.encode(words)), words)
    assert.strictEqual(tok.decode(tok.encode(words)), words)
  })
  it("encodes one enormous word", () => {
    const s = "shirt".repeat(20_000)
    assert.strictEqual(bpe.decode(bpe.encode(s)), s)
  })
})

describe("Bpe training", () => {
  prop.prop([fc.array(fc.string({ unit: fc.constantFrom("a", "b", "c", " ", "é", "1"), maxLength: 12 }), { maxLength: 12 }), fc.integer({ min: 262, max: 300 })], {
    seed: 23,
    numRuns: 150
  })("the incremental trainer gives the same merges as recounting every round", (texts, vocab) => {
    const tok = Effect.runSync(Bpe.train(texts, { vocabSize: vocab, minFrequency: 1 }))
    assert.deepStrictEqual(Array.from(tok.merges), naiveTrain(texts, vocab, 1))
  })
  it("matches the reference trainer on the agent corpus (min frequency 2)", () => {
    assert.deepStrictEqual(Array.from(bpe.merges), naiveTrain(corpus, 400, 2))
  })
  it.effect("is deterministic and independent of text order", () =>
    Effect.gen(function*() {
      const again = yield* Bpe.train([...corpus].reverse(), { vocabSize: 400 })
      assert.strictEqual(Bpe.format(again), Bpe.format(bpe))
      assert.strictEqual(again.hash, bpe.hash)
    }))
  it.effect("stops below the minimum frequency", () =>
    Effect.gen(function*() {
      const tok = yield* Bpe.train(["ab", "cd cd"], { vocabSize: 1000 })
      // Pieces "ab", "cd", " ", "cd": the pair "ab" once, "cd" twice: only "cd" is merged.
      assert.deepStrictEqual(Array.from(tok.merges), [0x63 + BYTE_OFFSET, 0x64 + BYTE_OFFSET])
    }))
  it.effect("rejects a vocabulary smaller than specials + bytes", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Bpe.train(corpus, { vocabSize: 260 }))
      assert.isTrue(Exit.isFailure(exit))
      const err = yield* Effect.flip(Bpe.train(corpus, { vocabSize: 260 }))
      assert.strictEqual(err.reason, "InvalidVocabSize")
      assert.match(err.message, /vocabulary size 260 must be an integer between 262/)
    }))
  it("keeps word counts bounded, dropping rare words first", () => {
    const counts = Bpe.wordCounts({ maxWords: 100 })
    for (let i = 0; i < 1000; i++) counts.add(`common words ${i}x`)
    const stats = counts.stats()
    assert.isAtMost(stats.words, 100)
    assert.isAbove(stats.pruned, 0)
    assert.strictEqual(stats.texts, 1000)
    const kept = new Map(counts.entries())
    assert.strictEqual(kept.get("words"), 1000)
  })
})

describe("Bpe JSON", () => {
  it.effect("load(toJSON()) gives the same tokenizer", () =>
    Effect.gen(function*() {
      const back = yield* Bpe.load(JSON.parse(JSON.stringify(bpe.toJSON())))
      assert.strictEqual(back.hash, bpe.hash)
      assert.deepStrictEqual(Array.from(back.encode(corpus[1]!)), Array.from(bpe.encode(corpus[1]!)))
    }))
  it("hash is 16 hex digits and changes with the merges", () => {
    assert.match(bpe.hash, /^[0-9a-f]{16}$/)
    assert.notStrictEqual(Bpe.fromMerges(bpe.merges.slice(0, -2)).hash, bpe.hash)
  })
  it("writes specials, one merge per line", () => {
    const text = Bpe.format(bpe)
    assert.include(text, JSON.stringify(specialTokens))
    assert.include(text, `\n    [${bpe.merges[0]},${bpe.merges[1]}],\n`)
    assert.deepStrictEqual(JSON.parse(text), bpe.toJSON())
  })
  const bad: Array<[string, (j: Record<string, unknown>) => unknown, RegExp]> = [
    ["not an object", () => 42, /invalid tokenizer JSON/],
    ["wrong format", (j) => ({ ...j, format: "hf" }), /format/],
    ["wrong specials", (j) => ({ ...j, specials: ["<|pad|>"] }), /specials/],
    ["merge of a special id", (j) => ({ ...j, merges: [[0, 6]], vocabSize: 263 }), /merges/],
    ["merge of a later id", (j) => ({ ...j, merges: [[6, 262]], vocabSize: 263 }), /merge 0 \(\[6,262\]\) refers to an id not defined before 262/],
    ["repeated merge", (j) => ({ ...j, merges: [[6, 7], [6, 7]], vocabSize: 264 }), /repeats an earlier merge/],
    ["vocab size mismatch", (j) => ({ ...j, vocabSize: 999 }), /vocabSize is 999 but/],
    ["fractional id", (j) => ({ ...j, merges: [[6.5, 7]], vocabSize: 263 }), /merges/]
  ]
  for (const [name, mutate, re] of bad) {
    it.effect(`rejects ${name} with a clear one-line error`, () =>
      Effect.gen(function*() {
        const err = yield* Effect.flip(Bpe.load(mutate(bpe.toJSON() as unknown as Record<string, unknown>)))
        assert.strictEqual(err._tag, "BpeError")
        assert.strictEqual(err.reason, "InvalidJson")
        assert.match(err.message, re)
        assert.notInclude(err.message, "\n")
      }))
  }
})

describe("Bpe outdated files", () => {
  it.effect("refuses a version 1 tokenizer (GPT-2 pre-tokenizer, 5 specials) with one line saying what to do", () =>
    Effect.gen(function*() {
      const old = { format: "stepagent-bpe", version: 1, pretokenizer: "gpt2-unicode-n3-cut256", specials: specialTokens.slice(0, 5), vocabSize: 261, merges: [] }
      const err = yield* Effect.flip(Bpe.load(old))
      assert.strictEqual(err.reason, "Outdated")
      assert.match(err.message, /version 1 .*retrain it with `stepagent tokenizer train`/)
      assert.notInclude(err.message, "\n")
    }))
})

describe("Bpe files", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bpe-test-"))
  it.effect("save then loadFile round-trips byte for byte", () =>
    Effect.gen(function*() {
      const p = path.join(dir, "tok.json")
      yield* Bpe.save(bpe, p)
      const back = yield* Bpe.loadFile(p)
      assert.strictEqual(back.hash, bpe.hash)
      assert.strictEqual(fs.readFileSync(p, "utf8"), Bpe.format(bpe))
      yield* Bpe.save(path.join(dir, "tok2.json"))(bpe)
      assert.strictEqual(fs.readFileSync(path.join(dir, "tok2.json"), "utf8"), Bpe.format(bpe))
    }).pipe(Effect.provide(NodeFileSystem.layer)))
  it.effect("a missing file is NotFound, naming the path", () =>
    Effect.gen(function*() {
      const p = path.join(dir, "missing.json")
      const err = yield* Effect.flip(Bpe.loadFile(p))
      assert.strictEqual(err.reason, "NotFound")
      assert.include(err.message, p)
    }).pipe(Effect.provide(NodeFileSystem.layer)))
  it.effect("a file that is not JSON, or not a tokenizer, is Decode", () =>
    Effect.gen(function*() {
      const p = path.join(dir, "bad.json")
      fs.writeFileSync(p, "{ nope")
      const e1 = yield* Effect.flip(Bpe.loadFile(p))
      assert.strictEqual(e1.reason, "Decode")
      assert.match(e1.message, /not JSON/)
      fs.writeFileSync(p, JSON.stringify({ format: "stepagent-bpe" }))
      const e2 = yield* Effect.flip(Bpe.loadFile(p))
      assert.strictEqual(e2.reason, "Decode")
      assert.match(e2.message, /invalid tokenizer JSON/)
    }).pipe(Effect.provide(NodeFileSystem.layer)))
  it.effect("an unwritable path is Io", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip(Bpe.save(bpe, path.join(dir, "no", "such", "dir", "tok.json")))
      assert.strictEqual(err.reason, "Io")
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})
