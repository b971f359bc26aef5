// reward/auc of StepAgent runs, pooled over rounds 2-4 (iterations >= 1) weighted by pairs, with a 95% percentile
// bootstrap over batches (2,000 resamples, seeded); `reward/auc_reference` (the SFT policy's own likelihood on the same
// pairs) where the implicit reward logs it; with two runs of the same samples (rewardWarmup), the paired difference.
//   node auc.ts <run dir> [<run dir>]
import * as NodeFs from "node:fs"

type Batch = { readonly key: string; readonly auc: number; readonly pairs: number; readonly reference?: number }

// a batch's key: its iteration and its place among that iteration's batches (the variants number their steps apart)
const batches = (dir: string): Array<Batch> => {
  const seen = new Map<number, number>()
  return NodeFs.readFileSync(`${dir}/metrics.jsonl`, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => typeof r["reward/auc_pairs"] === "number" && (r["iteration"] as number) >= 1)
    .map((r) => {
      const it = r["iteration"] as number
      const n = seen.get(it) ?? 0
      seen.set(it, n + 1)
      return { r, key: `${it}:${n}` }
    })
    .filter(({ r }) => typeof r["reward/auc"] === "number")
    .map(({ r, key }) => ({
      key,
      auc: r["reward/auc"] as number,
      pairs: r["reward/auc_pairs"] as number,
      ...(typeof r["reward/auc_reference"] === "number" ? { reference: r["reward/auc_reference"] as number } : {})
    }))
}

const pooled = (bs: ReadonlyArray<Batch>, f: (b: Batch) => number | undefined): number => {
  const used = bs.filter((b) => f(b) !== undefined)
  return used.reduce((a, b) => a + f(b)! * b.pairs, 0) / Math.max(1, used.reduce((a, b) => a + b.pairs, 0))
}

// mulberry32: a seeded stream for the resamples
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const interval = (n: number, stat: (idx: ReadonlyArray<number>) => number): [number, number] => {
  const u = rng(1)
  const xs = Array.from({ length: 2000 }, () => stat(Array.from({ length: n }, () => Math.floor(u() * n)))).sort((a, b) => a - b)
  return [xs[49]!, xs[1949]!]
}

const fmt = (x: number) => x.toFixed(3)
const dirs = process.argv.slice(2)
const runs = dirs.map(batches)
runs.forEach((bs, i) => {
  const ci = interval(bs.length, (idx) => pooled(idx.map((j) => bs[j]!), (b) => b.auc))
  const ref = bs.some((b) => b.reference !== undefined) ? ` reference ${fmt(pooled(bs, (b) => b.reference))}` : ""
  console.log(`${dirs[i]}: reward/auc ${fmt(pooled(bs, (b) => b.auc))} [${fmt(ci[0])}, ${fmt(ci[1])}] (${bs.reduce((a, b) => a + b.pairs, 0)} pairs, ${bs.length} batches)${ref}`)
})
if (runs.length === 2) {
  const [a, b] = runs as [Array<Batch>, Array<Batch>]
  const keys = a.map((x) => x.key).filter((k) => b.some((y) => y.key === k && y.pairs === a.find((x) => x.key === k)!.pairs))
  const pa = keys.map((k) => a.find((x) => x.key === k)!)
  const pb = keys.map((k) => b.find((x) => x.key === k)!)
  const diff = (idx: ReadonlyArray<number>) => pooled(idx.map((j) => pb[j]!), (x) => x.auc) - pooled(idx.map((j) => pa[j]!), (x) => x.auc)
  const ci = interval(keys.length, diff)
  console.log(`second minus first, on the ${keys.length} batches with the same pairs: ${fmt(diff(keys.map((_, j) => j)))} [${fmt(ci[0])}, ${fmt(ci[1])}]`)
}
