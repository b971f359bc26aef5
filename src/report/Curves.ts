/**
 * Learning curves of one run: `metrics.jsonl` rows folded, one at a time, into a downsampled series per
 * metric on a global step axis, plus the stage boundaries on that axis.
 *
 * The global step: rows come in segments of consecutive rows sharing (stage, iteration). Each segment
 * starts where the previous one ended (its first x is the previous segment's last x + 1) and advances
 * with the row's `step`: x = segment start + (step - the segment's first step). So a stage whose
 * `step` restarts at 0 and a runner whose `step` already counts across stages give the same axis.
 */
import * as Downsample from "./Downsample.ts"
import type * as RunDir from "./RunDir.ts"

/** Where a segment (stage, iteration) starts on the global step axis. */
export interface Boundary {
  readonly x: number
  readonly stage: string
  readonly iteration: number
}

export interface RunCurves {
  /** Metric name -> its downsampled series, in first-seen order. */
  readonly series: ReadonlyMap<string, Downsample.Series>
  readonly boundaries: ReadonlyArray<Boundary>
  /** Rows read. */
  readonly rows: number
}

export interface Accumulator {
  readonly push: (row: RunDir.MetricRow) => void
  readonly result: () => RunCurves
}

// 2,000 points a series: more than the pixel width of a chart even as a 2x PNG, so thinning is
// invisible, while a million-line metrics file still gives a report of a few megabytes.
export const DEFAULT_MAX_POINTS = 2000

/** Folds metric rows into curves, keeping at most `maxPoints` points per metric. */
export const accumulate = (maxPoints: number = DEFAULT_MAX_POINTS): Accumulator => {
  const series = new Map<string, Downsample.Series>()
  const boundaries: Array<Boundary> = []
  let rows = 0
  let key: string | undefined
  let start = 0
  let firstStep = 0
  let lastX = -1
  const push = (row: RunDir.MetricRow): void => {
    rows++
    const k = `${row.stage}\u0000${row.iteration}`
    if (k !== key) {
      key = k
      start = lastX + 1
      firstStep = row.step
      boundaries.push({ x: start, stage: row.stage, iteration: row.iteration })
    }
    const x = start + (row.step - firstStep)
    if (x > lastX) lastX = x
    for (const [name, value] of row.metrics) {
      let s = series.get(name)
      if (s === undefined) {
        s = Downsample.series(maxPoints)
        series.set(name, s)
      }
      s.push(x, value)
    }
  }
  return { push, result: () => ({ series, boundaries, rows }) }
}

/** The label of a segment: the stage, with the iteration when it is not 0 (`ppo 2`). */
export const boundaryLabel = (b: Boundary): string => b.iteration === 0 ? b.stage : `${b.stage} ${b.iteration}`

// The field's metric families first, in the order a reader scans a training run; others follow alphabetically.
const GROUP_ORDER = ["eval", "reward", "policy", "loss", "objective", "dpo", "disc", "perf", "timing"]

/** The group of a metric: its prefix before the first `/`, or `other`. */
export const groupOf = (metric: string): string => {
  const i = metric.indexOf("/")
  return i <= 0 ? "other" : metric.slice(0, i)
}

/** Metric names grouped by prefix: known groups in a fixed order, then the rest alphabetically; names sorted within a group. */
export const grouped = (metrics: Iterable<string>): ReadonlyArray<readonly [group: string, metrics: ReadonlyArray<string>]> => {
  const groups = new Map<string, Array<string>>()
  for (const m of metrics) {
    const g = groupOf(m)
    const list = groups.get(g)
    if (list === undefined) groups.set(g, [m])
    else if (!list.includes(m)) list.push(m)
  }
  const rank = (g: string): number => {
    const i = GROUP_ORDER.indexOf(g)
    return i < 0 ? GROUP_ORDER.length : i
  }
  return [...groups.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([g, ms]) => [g, [...ms].sort()] as const)
}
