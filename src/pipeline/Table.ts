/**
 * The comparison table of the paper: method x environment, average reward and success rate on the
 * evaluation split, from run directories (`config.json` for the method, `eval/summary.json` for the
 * numbers). Runs of the same method, environment and split (seeds) are averaged: the cell holds their
 * mean, their sample standard deviation and their count.
 *
 * The method of a run (`methodOf`):
 * 1. `config.method` of the resolved pipeline (config.json's `config.method`) when it is a non-empty string;
 * 2. else the pipeline name without the environment's name as a `-`/`_`/`.`-separated word
 *    (`sft-shop` on shop -> `sft`, `shop_stepagent_inverse` -> `stepagent_inverse`);
 * 3. else (the name was only the environment) the pipeline name.
 */
import { Effect } from "effect"
import * as RunDir from "./RunDir.ts"

/** One evaluated run. */
export interface Entry {
  readonly dir: string
  readonly method: string
  readonly env: string
  readonly split: string | undefined
  readonly avgReward: number
  readonly successRate: number
  readonly episodes: number
}

/** The runs of one (method, environment, split). */
export interface Cell {
  readonly method: string
  readonly env: string
  readonly split: string | null
  /** The table's column: the environment, with the split when it is not `test`. */
  readonly column: string
  readonly runs: number
  readonly avgReward: number
  readonly successRate: number
  /** Sample standard deviations over the runs; null for a single run. */
  readonly avgRewardStd: number | null
  readonly successRateStd: number | null
  /** Evaluation episodes summed over the runs. */
  readonly episodes: number
  readonly dirs: ReadonlyArray<string>
}

export interface Comparison {
  /** Methods and columns in order of first appearance among the runs given. */
  readonly methods: ReadonlyArray<string>
  readonly columns: ReadonlyArray<string>
  readonly cells: ReadonlyArray<Cell>
}

/** The method of a run (see the module comment for the rule). */
export const methodOf = (config: RunDir.RunConfig, env: string | undefined): string => {
  const inner = config.config
  if (typeof inner === "object" && inner !== null && "method" in inner) {
    const m = (inner as { method: unknown }).method
    if (typeof m === "string" && m.trim() !== "") return m.trim()
  }
  if (env === undefined || env === "") return config.pipeline
  const words = config.pipeline.split(/([-_.])/)
  // words alternates word, separator, word...: drop each word equal to the env with one separator beside it.
  const kept: Array<string> = []
  for (let i = 0; i < words.length; i += 2) {
    if (words[i] === env) continue
    if (kept.length > 0) kept.push(words[i - 1] ?? "-")
    kept.push(words[i]!)
  }
  const stripped = kept.join("")
  return stripped === "" ? config.pipeline : stripped
}

/** Reads the method and evaluation summary of a run directory; fails when either file is missing or broken. */
export const entry = Effect.fn("Table.entry")(function*(dir: string) {
  const run = yield* RunDir.open(dir)
  const s = yield* RunDir.summary(dir)
  return {
    dir,
    method: methodOf(run.config, s.env),
    env: s.env,
    split: s.split,
    avgReward: s.avgReward,
    successRate: s.successRate,
    episodes: s.episodes
  } satisfies Entry
})

const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / xs.length

const std = (xs: ReadonlyArray<number>): number | null => {
  if (xs.length < 2) return null
  const m = mean(xs)
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1))
}

const columnOf = (env: string, split: string | undefined): string => split === undefined || split === "test" ? env : `${env} (${split})`

/** Groups runs by (method, environment, split) and averages them. */
export const compare = (entries: ReadonlyArray<Entry>): Comparison => {
  const methods: Array<string> = []
  const columns: Array<string> = []
  const groups = new Map<string, Array<Entry>>()
  for (const en of entries) {
    const column = columnOf(en.env, en.split)
    if (!methods.includes(en.method)) methods.push(en.method)
    if (!columns.includes(column)) columns.push(column)
    const key = JSON.stringify([en.method, column])
    const g = groups.get(key)
    if (g === undefined) groups.set(key, [en])
    else g.push(en)
  }
  const cells: Array<Cell> = []
  for (const method of methods) {
    for (const column of columns) {
      const g = groups.get(JSON.stringify([method, column]))
      if (g === undefined) continue
      const rewards = g.map((x) => x.avgReward)
      const rates = g.map((x) => x.successRate)
      cells.push({
        method,
        env: g[0]!.env,
        split: g[0]!.split ?? null,
        column,
        runs: g.length,
        avgReward: mean(rewards),
        successRate: mean(rates),
        avgRewardStd: std(rewards),
        successRateStd: std(rates),
        episodes: g.reduce((a, x) => a + x.episodes, 0),
        dirs: g.map((x) => x.dir)
      })
    }
  }
  return { methods, columns, cells }
}

const md = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/[\r\n]+/g, " ")

const rewardText = (c: Cell): string =>
  `${c.avgReward.toFixed(3)}${c.avgRewardStd === null ? "" : ` ± ${c.avgRewardStd.toFixed(3)}`}${c.runs > 1 ? ` (n=${c.runs})` : ""}`

const rateText = (c: Cell): string => `${(100 * c.successRate).toFixed(1)}%${c.successRateStd === null ? "" : ` ± ${(100 * c.successRateStd).toFixed(1)}`}`

/**
 * The Markdown table: one row per method, two columns per environment (average reward, success rate).
 * Rewards to 3 decimals, rates in percent to 1; `± sd (n=k)` when k > 1 runs were averaged; `-` when a method has no run there.
 */
export const markdown = (c: Comparison): string => {
  const head = ["method", ...c.columns.flatMap((col) => [`${md(col)} reward`, `${md(col)} success`])]
  const align = [":--", ...c.columns.flatMap(() => ["--:", "--:"])]
  const rows = c.methods.map((m) => [
    md(m),
    ...c.columns.flatMap((col) => {
      const cell = c.cells.find((x) => x.method === m && x.column === col)
      return cell === undefined ? ["-", "-"] : [rewardText(cell), rateText(cell)]
    })
  ])
  const line = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`
  const multi = c.cells.some((x) => x.runs > 1)
  return [
    line(head),
    line(align),
    ...rows.map(line),
    ...(multi ? ["", "± is the sample standard deviation over the runs (seeds) averaged; n the number of runs."] : [])
  ].join("\n")
}

/** The JSON form: `{ methods, columns, cells }` with full-precision numbers. */
export const json = (c: Comparison): string => JSON.stringify(c, null, 2)
