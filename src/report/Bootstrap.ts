/**
 * Confidence intervals for the comparison table (docs/SCIENCE.md, "Fair comparisons"): pure, seeded, no I/O.
 *
 * - `mean`: the mean of a cell (runs of one method on one environment, one per seed) with its 95% interval.
 *   The point estimate is the mean of the run means (every seed weighs the same). The interval is a
 *   hierarchical percentile bootstrap: resample the runs (seeds) with replacement, then the episodes within
 *   each resampled run, and take the mean of the resampled run means; the 2.5% and 97.5% quantiles of those
 *   means are the interval. It needs every run's per-episode values (`eval/summary.json` -> `outcomes`).
 * - `difference`: the paired difference of a method against a baseline: runs are matched by seed, and within
 *   a seed episodes by task id (same test tasks); the per-task differences (method minus baseline) are then
 *   bootstrapped like `mean` (seeds, then tasks within each seed).
 *
 * Fallback, for runs written before `outcomes` existed: when any run of a cell (or any matched seed of a
 * difference) lacks per-episode values, the interval is the normal-theory one from the run means (or the
 * per-seed differences of run means), mean +- t(0.975, k-1) * sd / sqrt(k) over the k >= 2 runs (Student's t,
 * not 1.96: with 3 seeds the normal quantile would make the interval far too narrow); with a single such run
 * there is no interval (`null`). `interval` says which one a result holds.
 *
 * Every call starts its own generator from `seed` (default below), so a cell's interval does not depend on
 * which other cells the table holds, and the same runs always give the same table.
 */
import * as Rng from "../model/Rng.ts"

/** 2000 resamples: percentile endpoints of a 95% interval need >= 1000 (Efron & Tibshirani); 2000 puts their Monte Carlo error well under a tenth of the interval's width and costs milliseconds per cell. */
export const RESAMPLES = 2000
/** Any fixed number makes the table reproducible; this one is the paper's arXiv month (2411). */
export const SEED = 2411
/** The interval's coverage, as SCIENCE.md asks. */
export const LEVEL = 0.95

export interface Options {
  readonly resamples?: number
  readonly seed?: number
}

/** How an interval was obtained: hierarchical bootstrap, Student's t from run means, or none (a single run without outcomes). */
export type IntervalKind = "bootstrap" | "t" | "none"

export interface Interval {
  readonly lo: number
  readonly hi: number
}

export interface Estimate {
  readonly mean: number
  /** 95% interval; null when `interval` is "none". */
  readonly ci: Interval | null
  readonly interval: IntervalKind
}

/** One run for `mean`: its mean, and its per-episode values when the run recorded them. */
export interface Run {
  readonly mean: number
  readonly values?: ReadonlyArray<number> | undefined
}

/** One run for `difference`: its seed, its mean, and its per-episode values keyed by task id when recorded. */
export interface PairedRun {
  readonly seed: number
  readonly mean: number
  readonly outcomes?: ReadonlyArray<{ readonly task: string; readonly value: number }> | undefined
}

export interface Difference extends Estimate {
  /** The seeds present on both sides (in the method's order): the pairs the difference is over. */
  readonly seeds: ReadonlyArray<number>
  /** Paired episodes (same seed, same task) summed over the seeds; 0 for the run-mean fallback. */
  readonly tasks: number
}

const average = (xs: ReadonlyArray<number>): number => {
  let s = 0
  for (const x of xs) s += x
  return s / xs.length
}

/** Student's t quantile at 0.975 for 1..30 degrees of freedom (standard tables). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042]

/** t(0.975, df): the table up to 30, then the Cornish-Fisher expansion around the normal quantile (within 1e-3 there). */
export const t975 = (df: number): number => {
  if (df < 1) return Number.NaN
  if (df <= T975.length) return T975[Math.floor(df) - 1]!
  const z = 1.959964
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df)
}

/** Normal-theory interval of the mean of `xs` (Student's t); none for fewer than 2 values. */
export const tInterval = (xs: ReadonlyArray<number>): Estimate => {
  const m = average(xs)
  if (xs.length < 2) return { mean: m, ci: null, interval: "none" }
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1))
  const half = t975(xs.length - 1) * sd / Math.sqrt(xs.length)
  return { mean: m, ci: { lo: m - half, hi: m + half }, interval: "t" }
}

/** Quantile `p` of sorted values, linear between order statistics (Hyndman & Fan type 7, R's default). */
export const quantile = (sorted: ReadonlyArray<number>, p: number): number => {
  const h = (sorted.length - 1) * p
  const i = Math.floor(h)
  const a = sorted[i]!
  const b = sorted[Math.min(i + 1, sorted.length - 1)]!
  return a + (h - i) * (b - a)
}

/**
 * The hierarchical percentile bootstrap of the mean of group means: `groups` are the runs (seeds), each the
 * values of its episodes (every group non-empty). Exposed for tests; `mean` and `difference` call it.
 */
export const hierarchical = (groups: ReadonlyArray<ReadonlyArray<number>>, options: Options = {}): Estimate => {
  const mean = average(groups.map(average))
  const resamples = Math.max(1, Math.floor(options.resamples ?? RESAMPLES))
  const rng = Rng.make(options.seed ?? SEED)
  const pick = (n: number): number => Math.min(n - 1, Math.floor(Rng.uniform(rng) * n))
  const k = groups.length
  const stats = new Float64Array(resamples)
  for (let b = 0; b < resamples; b++) {
    let total = 0
    for (let g = 0; g < k; g++) {
      const values = groups[pick(k)]!
      const n = values.length
      let s = 0
      for (let e = 0; e < n; e++) s += values[pick(n)]!
      total += s / n
    }
    stats[b] = total / k
  }
  stats.sort()
  const sorted = Array.from(stats)
  const alpha = (1 - LEVEL) / 2
  return { mean, ci: { lo: quantile(sorted, alpha), hi: quantile(sorted, 1 - alpha) }, interval: "bootstrap" }
}

/** The mean of a cell with its 95% interval: bootstrap when every run has values, else the t fallback (see the module comment). */
export const mean = (runs: ReadonlyArray<Run>, options: Options = {}): Estimate => {
  if (runs.length === 0) return { mean: Number.NaN, ci: null, interval: "none" }
  const groups: Array<ReadonlyArray<number>> = []
  for (const r of runs) {
    if (r.values === undefined || r.values.length === 0) return tInterval(runs.map((x) => x.mean))
    groups.push(r.values)
  }
  return hierarchical(groups, options)
}

/**
 * The paired difference `method - baseline` with its 95% interval. Seeds present on both sides are paired (the
 * first run of a seed on each side when a seed repeats); within a seed, tasks present on both sides. When every
 * paired seed has outcomes on both sides with a common task, the per-task differences are bootstrapped (seeds,
 * then tasks); otherwise the per-seed differences of run means get the t fallback. No common seed: NaN, no interval.
 */
export const difference = (method: ReadonlyArray<PairedRun>, baseline: ReadonlyArray<PairedRun>, options: Options = {}): Difference => {
  const base = new Map<number, PairedRun>()
  for (const r of baseline) if (!base.has(r.seed)) base.set(r.seed, r)
  const pairs: Array<readonly [PairedRun, PairedRun]> = []
  const seen = new Set<number>()
  for (const r of method) {
    const b = base.get(r.seed)
    if (b === undefined || seen.has(r.seed)) continue
    seen.add(r.seed)
    pairs.push([r, b])
  }
  const seeds = pairs.map(([r]) => r.seed)
  if (pairs.length === 0) return { mean: Number.NaN, ci: null, interval: "none", seeds, tasks: 0 }
  const groups: Array<ReadonlyArray<number>> = []
  for (const [r, b] of pairs) {
    if (r.outcomes === undefined || b.outcomes === undefined) break
    const byTask = new Map<string, number>()
    for (const o of b.outcomes) if (!byTask.has(o.task)) byTask.set(o.task, o.value)
    const diffs: Array<number> = []
    const used = new Set<string>()
    for (const o of r.outcomes) {
      const v = byTask.get(o.task)
      if (v === undefined || used.has(o.task)) continue
      used.add(o.task)
      diffs.push(o.value - v)
    }
    if (diffs.length === 0) break
    groups.push(diffs)
  }
  if (groups.length === pairs.length) {
    return { ...hierarchical(groups, options), seeds, tasks: groups.reduce((a, g) => a + g.length, 0) }
  }
  return { ...tInterval(pairs.map(([r, b]) => r.mean - b.mean)), seeds, tasks: 0 }
}

/** The verdict SCIENCE.md asks for: an interval containing 0 is "no difference"; no interval, no verdict. */
export const verdict = (d: Estimate): "better" | "worse" | "no difference" | null =>
  d.ci === null ? null : d.ci.lo > 0 ? "better" : d.ci.hi < 0 ? "worse" : "no difference"
