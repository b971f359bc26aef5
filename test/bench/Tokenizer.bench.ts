/**
 * Benchmark `tokenizer`: BPE training time and encode/decode throughput on agent-like text
 * (shop observations with product lists, ReAct thoughts, `search[...]` / `click[...]` actions).
 * Target (issue 2): encode >= 2 MB of text a second.
 */
import { Effect } from "effect"
import * as Bpe from "../../src/data/Bpe.ts"
import * as Rng from "../../src/random/Rng.ts"

/** The environments' seeded PRNG (mulberry32): the corpus is the same on every run. */
const prng = (seed: number): (() => number) => Rng.make(seed).next

const colors = ["blue", "red", "green", "black", "white", "navy", "heather grey", "pink", "olive", "beige"]
const materials = ["cotton", "polyester", "wool", "leather", "linen", "stainless steel", "bamboo", "ceramic"]
const items = ["t-shirt", "running shoes", "wireless headphones", "coffee mug", "wallet", "yoga mat", "desk lamp", "backpack", "hoodie", "water bottle"]
const extras = ["for men", "for women", "machine wash", "long lasting", "gift set", "pack of 2", "easy to clean", "non-slip"]

/** Agent-like texts totalling about `bytes` bytes: instructions, observations and assistant turns. */
export const agentCorpus = (seed: number, bytes: number): Array<string> => {
  const r = prng(seed)
  const pick = <T>(xs: ReadonlyArray<T>): T => xs[Math.floor(r() * xs.length)]!
  const product = (): string => `${pick(colors)} ${pick(materials)} ${pick(items)}`
  const asin = (): string => `B0${Math.floor(r() * 36 ** 8).toString(36).toUpperCase().padStart(8, "0")}`
  const texts: Array<string> = []
  let size = 0
  while (size < bytes) {
    const want = product()
    const price = 10 + Math.floor(r() * 90)
    const episode = [
      `WebShop [SEP] Instruction: [SEP] i need a ${want}, ${pick(extras)}, and price lower than ${price}.00 dollars [SEP] Search`,
      `Thought: I think I should search for ${want} first.\nAction: search[${want}]`,
      `Instruction: [SEP] i need a ${want} [SEP] Back to Search [SEP] Page 1 (Total results: ${Math.floor(r() * 500)}) [SEP] Next >\n` +
      Array.from({ length: 10 }, () => `[SEP] ${asin()} [SEP] ${product()} ${pick(extras)}, Size ${pick(["S", "M", "L", "XL"])} [SEP] $${(r() * 100).toFixed(2)}`).join(" "),
      `Thought: The second item looks like a ${want} under ${price} dollars.\nAction: click[${asin()}]`,
      `[SEP] Back to Search [SEP] < Prev [SEP] size [SEP] small [SEP] medium [SEP] large [SEP] ${product()} [SEP] Price: $${(r() * 100).toFixed(2)} [SEP] Rating: N.A. [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now`,
      `Action: click[${pick(["small", "medium", "large"])}]`,
      `Action: click[Buy Now]`
    ]
    for (const t of episode) {
      texts.push(t)
      size += Buffer.byteLength(t)
    }
  }
  return texts
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const bytesOf = (texts: ReadonlyArray<string>): number => texts.reduce((n, t) => n + Buffer.byteLength(t), 0)

export const entries: Record<string, () => Promise<unknown>> = {
  tokenizer: async () => {
    const target = 2 // MB/s, issue 2
    const vocabSize = 4096
    const trainTexts = agentCorpus(1, 3_000_000)
    const testTexts = agentCorpus(2, 3_000_000)
    const testMB = bytesOf(testTexts) / 1e6

    const trainSeconds: Array<number> = []
    let bpe: Bpe.Bpe | undefined
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now()
      bpe = Effect.runSync(Bpe.train(trainTexts, { vocabSize }))
      trainSeconds.push((performance.now() - t0) / 1000)
    }
    const trained = bpe!

    // Cold: a fresh tokenizer (empty word cache), text by text as rendering encodes it.
    const cold = Bpe.fromMerges(trained.merges)
    let t0 = performance.now()
    let tokens = 0
    for (const t of testTexts) tokens += cold.encode(t).length
    const coldMBs = testMB / ((performance.now() - t0) / 1000)

    const perText: Array<number> = []
    for (let run = 0; run < 5; run++) {
      t0 = performance.now()
      for (const t of testTexts) cold.encode(t)
      perText.push(testMB / ((performance.now() - t0) / 1000))
    }
    const whole = testTexts.join("\n")
    const wholeRuns: Array<number> = []
    let ids: Int32Array = new Int32Array(0)
    for (let run = 0; run < 5; run++) {
      t0 = performance.now()
      ids = cold.encode(whole)
      wholeRuns.push(Buffer.byteLength(whole) / 1e6 / ((performance.now() - t0) / 1000))
    }
    const decodeRuns: Array<number> = []
    for (let run = 0; run < 5; run++) {
      t0 = performance.now()
      cold.decode(ids)
      decodeRuns.push(Buffer.byteLength(whole) / 1e6 / ((performance.now() - t0) / 1000))
    }
    // Worst case for the word cache: random printable unicode, almost every word new.
    const r = prng(3)
    const noise = Array.from({ length: 400_000 }, () => (r() < 0.15 ? " " : String.fromCodePoint(0x21 + Math.floor(r() * 0x3000)))).join("")
    const noiseRuns: Array<number> = []
    for (let run = 0; run < 3; run++) {
      const fresh = Bpe.fromMerges(trained.merges)
      t0 = performance.now()
      fresh.encode(noise)
      noiseRuns.push(Buffer.byteLength(noise) / 1e6 / ((performance.now() - t0) / 1000))
    }

    const encodeMBs = median(perText)
    return {
      corpus: { trainMB: Number((bytesOf(trainTexts) / 1e6).toFixed(2)), testMB: Number(testMB.toFixed(2)), texts: testTexts.length },
      vocab: trained.vocabSize,
      trainSecondsMedian: Number(median(trainSeconds).toFixed(3)),
      bytesPerToken: Number((testMB * 1e6 / tokens).toFixed(2)),
      encodeMBsColdCache: Number(coldMBs.toFixed(2)),
      encodeMBsMedian: Number(encodeMBs.toFixed(2)),
      encodeMBsWholeStringMedian: Number(median(wholeRuns).toFixed(2)),
      encodeMBsRandomUnicodeMedian: Number(median(noiseRuns).toFixed(2)),
      decodeMBsMedian: Number(median(decodeRuns).toFixed(2)),
      targetMBs: target,
      targetMet: encodeMBs >= target && coldMBs >= target
    }
  }
}
