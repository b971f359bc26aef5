// The house reward-data probe's reading (docs/paper-table.md, twenty-first session): `reward/auc` of each run's
// batches, split into its two stages (a stage starts where the iteration number goes back), pooled over the pool
// stage's rounds (weighted by pairs; 95% percentile bootstrap over batches, 2,000 seeded resamples) beside
// `reward/auc_reference` on the same pairs, and per round of stage A (states new to the reward model each round).
//   node auc-data.ts <run dir> [<run dir> ...]
import * as NodeFs from "node:fs"

type Batch = { readonly stage: number; readonly iteration: number; readonly auc: number; readonly pairs: number; readonly reference: number | undefined }

const batches = (dir: string): Array<Batch> => {
  let stage = 0
  let last = -1
  return NodeFs.readFileSync(`${dir}/metrics.jsonl`, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => typeof r["reward/auc_pairs"] === "number")
    .flatMap((r) => {
      const it = r["iteration"] as number
      if (it < last) stage++
      last = it
      return typeof r["reward/auc"] === "number"
        ? [{ stage, iteration: it, auc: r["reward/auc"] as number, pairs: r["reward/auc_pairs"] as number, reference: typeof r["reward/auc_reference"] === "number" ? r["reward/auc_reference"] as number : undefined }]
        : []
    })
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

const interval = (bs: ReadonlyArray<Batch>, f: (b: Batch) => number | undefined): [number, number] => {
  const u = rng(1)
  const n = bs.length
  const xs = Array.from({ length: 2000 }, () => pooled(Array.from({ length: n }, () => bs[Math.floor(u() * n)]!), f)).sort((a, b) => a - b)
  return [xs[49]!, xs[1949]!]
}

const fmt = (x: number) => x.toFixed(3)
for (const dir of process.argv.slice(2)) {
  const bs = batches(dir)
  const pool = bs.filter((b) => b.stage === 1)
  const [lo, hi] = interval(pool, (b) => b.auc)
  const ref = pool.some((b) => b.reference !== undefined) ? `, reference ${fmt(pooled(pool, (b) => b.reference))}` : ""
  console.log(`${dir}\n  pool (stage B, ${pool.reduce((a, b) => a + b.pairs, 0)} pairs, ${pool.length} batches): reward/auc ${fmt(pooled(pool, (b) => b.auc))} [${fmt(lo)}, ${fmt(hi)}]${ref}`)
  const rounds = [...new Set(bs.filter((b) => b.stage === 0).map((b) => b.iteration))]
  console.log(`  stage A by round: ${rounds.map((it) => {
    const r = bs.filter((b) => b.stage === 0 && b.iteration === it)
    return `${it + 1}: ${fmt(pooled(r, (b) => b.auc))} (${r.reduce((a, b) => a + b.pairs, 0)})`
  }).join(", ")}`)
  const a = bs.filter((b) => b.stage === 0)
  const late = a.filter((b) => b.iteration >= 4)
  console.log(`  stage A rounds 5-8: ${fmt(pooled(late, (b) => b.auc))} [${interval(late, (b) => b.auc).map(fmt).join(", ")}]${late.some((b) => b.reference !== undefined) ? `, reference ${fmt(pooled(late, (b) => b.reference))}` : ""}`)
}
