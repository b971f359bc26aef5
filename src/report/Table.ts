/**
 * The comparison table of the paper: method x environment, average reward and success rate on the
 * evaluation split, from run directories (`config.json` for the method and seed, `eval/summary.json` for the
 * numbers). Runs of the same method, environment and split (seeds) make a cell: the mean of their run means,
 * a 95% interval (Bootstrap.ts: seeds, then episodes within each seed; Student's t from the run means for
 * runs without per-episode `outcomes`), their sample standard deviation and count, and the means of the
 * train-split success and action accuracy of the runs that recorded them. Then the paired differences
 * (SCIENCE.md, "Fair comparisons"): each StepAgent variant against each baseline present, per column, matched
 * by seed and test task, with the verdict "no difference" when the interval contains 0.
 *
 * The method of a run (`methodOf`):
 * 1. `config.method` of the resolved pipeline (config.json's `config.method`) when it is a non-empty string;
 * 2. else the pipeline name without the environment's name as a `-`/`_`/`.`-separated word
 *    (`sft-shop` on shop -> `sft`, `shop_stepagent_inverse` -> `stepagent_inverse`);
 * 3. else (the name was only the environment) the pipeline name.
 *
 * The seed of a run: `config.json`'s `seed`, else `config.seed`; a run without one is not paired.
 */
import { Effect } from "effect"
import * as Bootstrap from "./Bootstrap.ts"
import * as RunDir from "./RunDir.ts"

/** One test episode of a run (`eval/summary.json` -> `outcomes`). */
export interface Outcome {
  readonly task: string
  readonly reward: number
  readonly success: boolean
}

/** One evaluated run. The optional fields are absent for runs written before they existed. */
export interface Entry {
  readonly dir: string
  readonly method: string
  readonly env: string
  readonly split: string | undefined
  readonly avgReward: number
  readonly successRate: number
  readonly episodes: number
  readonly seed?: number | undefined
  readonly outcomes?: ReadonlyArray<Outcome> | undefined
  readonly train?: { readonly avgReward: number; readonly successRate: number; readonly episodes: number } | undefined
  readonly validation?: { readonly successRate: number } | undefined
  readonly actionAccuracy?: number | undefined
  readonly trainActionAccuracy?: number | undefined
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
  /** The runs' seeds, in the order of `dirs` (null: the run records none). */
  readonly seeds: ReadonlyArray<number | null>
  /** Each run's success rate, in the order of `dirs`: how far the seeds spread (a mean can hide one seed's lead). */
  readonly successRates: ReadonlyArray<number>
  /** How the intervals were obtained (Bootstrap.ts): "bootstrap", "t" (some run has no outcomes), "none" (one such run). */
  readonly interval: Bootstrap.IntervalKind
  /** 95% intervals of `avgReward` and `successRate` (fractions, like the means); null when `interval` is "none". */
  readonly avgRewardCi: Bootstrap.Interval | null
  readonly successRateCi: Bootstrap.Interval | null
  /** Mean train-split success rate over the `trainRuns` runs that recorded the train check; null when none did. */
  readonly trainSuccessRate: number | null
  readonly trainAvgReward: number | null
  readonly trainRuns: number
  /** Mean success rate on a validation world's train tasks over the `validationRuns` runs that recorded it. */
  readonly validationSuccessRate: number | null
  readonly validationRuns: number
  /** Mean action accuracy (greedy exact match at held-out expert states) over the `actionAccuracyRuns` runs that recorded it. */
  readonly actionAccuracy: number | null
  readonly actionAccuracyRuns: number
  /** The same at the expert states of trajectories the run trained on (`eval/train_action_accuracy`), over the runs that recorded it. */
  readonly trainActionAccuracy: number | null
  readonly trainActionAccuracyRuns: number
}

/** A paired difference, method minus baseline, in one column (fractions: 0.05 is 5 points of success). */
export interface Difference {
  readonly column: string
  readonly env: string
  readonly split: string | null
  readonly method: string
  readonly baseline: string
  /** The seeds run by both, the pairs the difference is over; empty when there is none (then the means are null). */
  readonly seeds: ReadonlyArray<number>
  /** Paired test episodes (same seed, same task); 0 when the run-mean fallback was used. */
  readonly tasks: number
  readonly interval: Bootstrap.IntervalKind
  readonly successRate: number | null
  readonly successRateCi: Bootstrap.Interval | null
  readonly avgReward: number | null
  readonly avgRewardCi: Bootstrap.Interval | null
  /** From the success-rate interval: "no difference" when it contains 0; null without an interval. */
  readonly verdict: "better" | "worse" | "no difference" | null
}

export interface Comparison {
  /** Methods and columns in order of first appearance among the runs given. */
  readonly methods: ReadonlyArray<string>
  readonly columns: ReadonlyArray<string>
  readonly cells: ReadonlyArray<Cell>
  /** Each StepAgent variant against each baseline present, per column (in column, variant, baseline order). */
  readonly differences: ReadonlyArray<Difference>
  /**
   * Each improvement baseline (sft-more, outcome-ppo, step-dpo, stepagent-placebo) against sft, per column: what the improvement rounds buy
   * without a step reward from demonstrations, the yardstick a StepAgent variant's own gain over sft is read against.
   */
  readonly baselineDifferences: ReadonlyArray<Difference>
  /** The pairs asked for by name (`stepagent table --pair A:B`), per column where both have runs: A minus B. */
  readonly requestedDifferences: ReadonlyArray<Difference>
  /** The bootstrap's settings, to reproduce the intervals. */
  readonly bootstrap: { readonly resamples: number; readonly seed: number; readonly level: number }
}

/** The StepAgent variants whose claims get a paired difference (the oracle reward's: the ceiling they are read against). */
export const VARIANTS: ReadonlyArray<string> = ["stepagent-implicit", "stepagent-inverse", "stepagent-oracle", "stepagent-implicit-lean", "stepagent-inverse-lean"]
/**
 * The baselines a StepAgent gain must beat (SCIENCE.md), in the table's order; `stepagent-placebo` (the oracle's rewards
 * shuffled, blind to the actions) when it was run: a variant that does not beat it owes nothing to its step reward.
 */
export const BASELINES: ReadonlyArray<string> = ["sft", "sft-more", "outcome-ppo", "stepagent-placebo"]
/** The methods that improve on the SFT warm start without a step reward from demonstrations (their gain over sft is reported beside the variants'). */
export const IMPROVEMENTS: ReadonlyArray<string> = ["sft-more", "outcome-ppo", "step-dpo", "stepagent-placebo"]

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

const seedOf = (config: RunDir.RunConfig): number | undefined => {
  if (config.seed !== undefined) return config.seed
  const inner = config.config
  if (typeof inner === "object" && inner !== null && "seed" in inner) {
    const s = (inner as { seed: unknown }).seed
    if (typeof s === "number" && Number.isFinite(s)) return s
  }
  return undefined
}

/** Reads the method, seed and evaluation summary of a run directory; fails when either file is missing or broken. */
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
    episodes: s.episodes,
    seed: seedOf(run.config),
    outcomes: s.outcomes,
    train: s.train,
    validation: s.validation,
    actionAccuracy: s.actionAccuracy,
    trainActionAccuracy: s.trainActionAccuracy
  } satisfies Entry
})

const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0) / xs.length

const std = (xs: ReadonlyArray<number>): number | null => {
  if (xs.length < 2) return null
  const m = mean(xs)
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1))
}

const columnOf = (env: string, split: string | undefined): string => split === undefined || split === "test" ? env : `${env} (${split})`

const finite = (x: number): number | null => Number.isFinite(x) ? x : null

const pairedRuns = (g: ReadonlyArray<Entry>, value: (o: Outcome) => number, runMean: (e: Entry) => number): Array<Bootstrap.PairedRun> =>
  g.flatMap((e) =>
    e.seed === undefined ? [] : [{ seed: e.seed, mean: runMean(e), outcomes: e.outcomes?.map((o) => ({ task: o.task, value: value(o) })) }]
  )

const success = (o: Outcome): number => o.success ? 1 : 0

/** A difference asked for by name: `method` minus `baseline` (`--pair method:baseline`). */
export interface Pair {
  readonly method: string
  readonly baseline: string
}

/** Parses `A:B` (method A minus method B); a one-line reason when it is not two non-empty, different names. */
export const parsePair = (text: string): Pair | string => {
  const parts = text.split(":").map((p) => p.trim())
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") return `--pair ${text}: expected METHOD:BASELINE, e.g. stepagent-implicit:sft-more`
  if (parts[0] === parts[1]) return `--pair ${text}: a method against itself`
  return { method: parts[0]!, baseline: parts[1]! }
}

/** A run counted as another method's (`--as DIR=METHOD`): a warm start run under its own name that is a table's `sft`. */
export interface As {
  readonly dir: string
  readonly method: string
}

export const parseAs = (text: string): As | string => {
  const at = text.lastIndexOf("=")
  const dir = at < 0 ? "" : text.slice(0, at).trim()
  const method = at < 0 ? "" : text.slice(at + 1).trim()
  return dir === "" || method === "" ? `--as ${text}: expected RUN_DIR=METHOD, e.g. runs/house-sft-2400-wide__1__20261207T034827Z=sft` : { dir, method }
}

/** The entries with each `--as` applied (directories compared resolved), or the first `--as` that names no entry's directory. */
export const relabel = (entries: ReadonlyArray<Entry>, as: ReadonlyArray<As>, resolve: (dir: string) => string): ReadonlyArray<Entry> | string => {
  const missing = as.find((a) => !entries.some((e) => resolve(e.dir) === resolve(a.dir)))
  if (missing !== undefined) return `--as ${missing.dir}=${missing.method}: ${missing.dir} is not one of the run directories given`
  return entries.map((e) => {
    const a = as.find((x) => resolve(x.dir) === resolve(e.dir))
    return a === undefined ? e : { ...e, method: a.method }
  })
}

/** The pairs naming a method with no run among the entries, as one line each (empty when every name has runs). */
export const unknownPairs = (entries: ReadonlyArray<Entry>, pairs: ReadonlyArray<Pair>): ReadonlyArray<string> => {
  const known = [...new Set(entries.map((e) => e.method))]
  return pairs.flatMap((p) =>
    [p.method, p.baseline].filter((m) => !known.includes(m)).map((m) => `--pair ${p.method}:${p.baseline}: no run of method ${m} (methods: ${known.join(", ")})`)
  )
}

/**
 * Groups runs by (method, environment, split): means, intervals, and the paired differences (the variants against the
 * baselines, the improvements against sft, and any `pairs` asked for by name).
 */
export const compare = (entries: ReadonlyArray<Entry>, options: Bootstrap.Options = {}, pairs: ReadonlyArray<Pair> = []): Comparison => {
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
  const group = (method: string, column: string) => groups.get(JSON.stringify([method, column]))
  const cells: Array<Cell> = []
  for (const method of methods) {
    for (const column of columns) {
      const g = group(method, column)
      if (g === undefined) continue
      const rewards = g.map((x) => x.avgReward)
      const rates = g.map((x) => x.successRate)
      const reward = Bootstrap.mean(g.map((x) => ({ mean: x.avgReward, values: x.outcomes?.map((o) => o.reward) })), options)
      const rate = Bootstrap.mean(g.map((x) => ({ mean: x.successRate, values: x.outcomes?.map(success) })), options)
      const trained = g.flatMap((x) => x.train === undefined ? [] : [x.train])
      const accuracies = g.flatMap((x) => x.actionAccuracy === undefined ? [] : [x.actionAccuracy])
      const fitted = g.flatMap((x) => x.trainActionAccuracy === undefined ? [] : [x.trainActionAccuracy])
      const validated = g.flatMap((x) => x.validation === undefined ? [] : [x.validation.successRate])
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
        dirs: g.map((x) => x.dir),
        seeds: g.map((x) => x.seed ?? null),
        successRates: rates,
        interval: rate.interval,
        avgRewardCi: reward.ci,
        successRateCi: rate.ci,
        trainSuccessRate: trained.length === 0 ? null : mean(trained.map((t) => t.successRate)),
        trainAvgReward: trained.length === 0 ? null : mean(trained.map((t) => t.avgReward)),
        trainRuns: trained.length,
        validationSuccessRate: validated.length === 0 ? null : mean(validated),
        validationRuns: validated.length,
        actionAccuracy: accuracies.length === 0 ? null : mean(accuracies),
        actionAccuracyRuns: accuracies.length,
        trainActionAccuracy: fitted.length === 0 ? null : mean(fitted),
        trainActionAccuracyRuns: fitted.length
      })
    }
  }
  const paired = (method: string, baseline: string, column: string): ReadonlyArray<Difference> => {
    const m = group(method, column)
    const b = group(baseline, column)
    if (m === undefined || b === undefined) return []
    const rate = Bootstrap.difference(pairedRuns(m, success, (e) => e.successRate), pairedRuns(b, success, (e) => e.successRate), options)
    const reward = Bootstrap.difference(pairedRuns(m, (o) => o.reward, (e) => e.avgReward), pairedRuns(b, (o) => o.reward, (e) => e.avgReward), options)
    return [{
      column,
      env: m[0]!.env,
      split: m[0]!.split ?? null,
      method,
      baseline,
      seeds: rate.seeds,
      tasks: rate.tasks,
      interval: rate.interval,
      successRate: finite(rate.mean),
      successRateCi: rate.ci,
      avgReward: finite(reward.mean),
      avgRewardCi: reward.ci,
      verdict: Bootstrap.verdict(rate)
    }]
  }
  const differences = columns.flatMap((column) => VARIANTS.flatMap((method) => BASELINES.flatMap((baseline) => paired(method, baseline, column))))
  const baselineDifferences = columns.flatMap((column) => IMPROVEMENTS.flatMap((method) => paired(method, "sft", column)))
  const requestedDifferences = columns.flatMap((column) => pairs.flatMap((p) => paired(p.method, p.baseline, column)))
  const bootstrap = { resamples: options.resamples ?? Bootstrap.RESAMPLES, seed: options.seed ?? Bootstrap.SEED, level: Bootstrap.LEVEL }
  return { methods, columns, cells, differences, baselineDifferences, requestedDifferences, bootstrap }
}

const md = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/[\r\n]+/g, " ")

/** `x` to `digits` decimals, without a "-0.0" for a negative value that rounds to zero. */
const fixed = (x: number, digits: number): string => {
  const t = x.toFixed(digits)
  return /^-0\.?0*$/.test(t) ? t.slice(1) : t
}
const pct = (x: number): string => fixed(100 * x, 1)
const dagger = "†"

const ciText = (ci: Bootstrap.Interval | null, kind: Bootstrap.IntervalKind, f: (x: number) => string): string =>
  ci === null ? "" : ` [${f(ci.lo)}, ${f(ci.hi)}]${kind === "t" ? dagger : ""}`

const rewardText = (c: Cell): string => `${fixed(c.avgReward, 3)}${ciText(c.avgRewardCi, c.interval, (x) => fixed(x, 3))}`

const rateText = (c: Cell): string => `${pct(c.successRate)}%${ciText(c.successRateCi, c.interval, pct)} (n=${c.runs})`

const line = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`

const signed = (x: number): string => {
  const t = pct(x)
  return t.startsWith("-") ? t : `+${t}`
}

const differenceText = (d: Difference): string =>
  d.successRate === null ? "-" : `${signed(d.successRate)}${d.successRateCi === null ? "" : ` [${signed(d.successRateCi.lo)}, ${signed(d.successRateCi.hi)}]${d.interval === "t" ? dagger : ""}`}`

const verdictText = (d: Difference): string =>
  d.seeds.length === 0 ? "no common seed" : d.verdict ?? "no interval (one seed without outcomes)"

/**
 * The Markdown report, in parts:
 * 1. the table: one row per method, two columns per environment, `0.600 [0.581, 0.619]` (average reward, 3
 *    decimals) and `42.0% [35.1, 48.9] (n=3)` (success rate in percent; n the runs, seeds); `†` marks a
 *    t interval from run means (runs without outcomes), no brackets when there is no interval, `-` when a
 *    method has no run there; a legend below;
 * 2. `### Success by seed` when some cell has two runs or more: `1: 24.0, 2: 18.5`, and `### Train split and action
 *    accuracy` when some run recorded either: their means `85.0% (n=3)`;
 * 3. `### Paired differences` when a StepAgent variant and a baseline share a column: success in points,
 *    `+7.5 [2.0, 13.0]`, the seeds and episodes paired, and the verdict;
 * 4. `### The baselines against sft` when one of IMPROVEMENTS shares a column with sft: the same columns;
 * 5. `### Asked-for differences` for the pairs named with `--pair`: the same columns.
 */
export const markdown = (c: Comparison): string => {
  const cellOf = (m: string, col: string) => c.cells.find((x) => x.method === m && x.column === col)
  const head = ["method", ...c.columns.flatMap((col) => [`${md(col)} reward`, `${md(col)} success`])]
  const align = [":--", ...c.columns.flatMap(() => ["--:", "--:"])]
  const rows = c.methods.map((m) => [
    md(m),
    ...c.columns.flatMap((col) => {
      const cell = cellOf(m, col)
      return cell === undefined ? ["-", "-"] : [rewardText(cell), rateText(cell)]
    })
  ])
  const kinds = new Set(c.cells.map((x) => x.interval))
  const legend = [
    "",
    "Mean over the runs (seeds) [95% interval] (n = runs); reward to 3 decimals, success in percent.",
    ...(kinds.has("bootstrap") ? [`Intervals: hierarchical percentile bootstrap, ${c.bootstrap.resamples} resamples of the seeds, then of the episodes within each seed (seed ${c.bootstrap.seed}).`] : []),
    ...(kinds.has("t") ? [`${dagger} Student's t interval from the run means: some runs have no per-episode outcomes.`] : []),
    ...(kinds.has("none") ? ["No interval: a single run without per-episode outcomes."] : [])
  ]
  const out = [line(head), line(align), ...rows.map(line), ...legend, ...bySeed(c, cellOf)]

  const hasTrain = c.cells.some((x) => x.trainRuns > 0)
  const hasValidation = c.cells.some((x) => x.validationRuns > 0)
  const hasAccuracy = c.cells.some((x) => x.actionAccuracyRuns > 0)
  const hasFit = c.cells.some((x) => x.trainActionAccuracyRuns > 0)
  if (hasTrain || hasValidation || hasAccuracy || hasFit) {
    const parts = (col: string) => [
      ...(hasTrain ? [`${md(col)} train success`] : []),
      ...(hasValidation ? [`${md(col)} validation success`] : []),
      ...(hasAccuracy ? [`${md(col)} action accuracy`] : []),
      ...(hasFit ? [`${md(col)} at trained states`] : [])
    ]
    const width = (hasTrain ? 1 : 0) + (hasValidation ? 1 : 0) + (hasAccuracy ? 1 : 0) + (hasFit ? 1 : 0)
    const mean = (x: number | null, n: number) => x === null ? "-" : `${pct(x)}% (n=${n})`
    out.push(
      "",
      "### Train split and action accuracy",
      "",
      `Train success: the success rate on training tasks (the model can fit them); ${hasValidation ? "validation success: on the train tasks of a world the data was not generated from (for choosing hyper-parameters without the test split); " : ""}action accuracy: the greedy action's exact match at held-out expert states${hasFit ? "; at trained states: the same at the expert states of trajectories the run trained on (the two alike: the model cannot fit; trained far above held-out: it memorises)" : ""}. Means over the runs that recorded them (n).`,
      "",
      line(["method", ...c.columns.flatMap(parts)]),
      line([":--", ...c.columns.flatMap(() => Array.from({ length: width }, () => "--:"))]),
      ...c.methods.map((m) =>
        line([
          md(m),
          ...c.columns.flatMap((col) => {
            const cell = cellOf(m, col)
            return [
              ...(hasTrain ? [cell === undefined ? "-" : mean(cell.trainSuccessRate, cell.trainRuns)] : []),
              ...(hasValidation ? [cell === undefined ? "-" : mean(cell.validationSuccessRate, cell.validationRuns)] : []),
              ...(hasAccuracy ? [cell === undefined ? "-" : mean(cell.actionAccuracy, cell.actionAccuracyRuns)] : []),
              ...(hasFit ? [cell === undefined ? "-" : mean(cell.trainActionAccuracy, cell.trainActionAccuracyRuns)] : [])
            ]
          })
        ])
      )
    )
  }

  out.push(
    ...differenceSection(
      "Paired differences",
      "Success rate, method minus baseline, in points [95% interval]: runs paired by seed, episodes by test task, resampled like the table (seeds, then tasks). An interval containing 0 is \"no difference\".",
      c.differences
    ),
    ...differenceSection(
      "The baselines against sft",
      "What the improvement rounds buy without a step reward from demonstrations: each baseline minus sft, paired and resampled as above. A StepAgent variant's gain over sft is read against these.",
      c.baselineDifferences
    ),
    ...differenceSection(
      "Asked-for differences",
      "The pairs named with --pair: method minus baseline, paired and resampled as above.",
      c.requestedDifferences
    )
  )
  return out.join("\n")
}

/** `1: 24.0, 2: 18.5`: a cell's success rate per run in percent, by seed (runs without a seed last, as `?`). */
const seedText = (cell: Pick<Cell, "seeds" | "successRates">): string =>
  cell.seeds
    .map((seed, i) => ({ seed, rate: cell.successRates[i]! }))
    .sort((a, b) => (a.seed ?? Infinity) - (b.seed ?? Infinity))
    .map((r) => `${r.seed ?? "?"}: ${pct(r.rate)}`)
    .join(", ")

/** `### Success by seed` when some cell has two runs or more: each cell's runs, `seed: success`, so a mean's spread shows. */
const bySeed = (c: Comparison, cellOf: (m: string, col: string) => Cell | undefined): ReadonlyArray<string> =>
  !c.cells.some((x) => x.runs > 1) ? [] : [
    "",
    "### Success by seed",
    "",
    "Each run's success in percent, by seed (the table's means pool them).",
    "",
    line(["method", ...c.columns.map((col) => `${md(col)} success by seed`)]),
    line([":--", ...c.columns.map(() => "--:")]),
    ...c.methods.map((m) => line([md(m), ...c.columns.map((col) => { const cell = cellOf(m, col); return cell === undefined ? "-" : seedText(cell) })]))
  ]

/** A section of paired differences (none when there are none): title, what it shows, one row per difference, a note on t intervals. */
const differenceSection = (title: string, intro: string, differences: ReadonlyArray<Difference>): ReadonlyArray<string> =>
  differences.length === 0 ? [] : [
    "",
    `### ${title}`,
    "",
    intro,
    "",
    line(["env", "method", "baseline", "success difference", "seeds", "episodes", "verdict"]),
    line([":--", ":--", ":--", "--:", "--:", "--:", ":--"]),
    ...differences.map((d) =>
      line([md(d.column), md(d.method), md(d.baseline), differenceText(d), String(d.seeds.length), d.interval === "bootstrap" ? String(d.tasks) : "-", verdictText(d)])
    ),
    ...(differences.some((d) => d.interval === "t") ? ["", `${dagger} Student's t interval over the per-seed differences of run means: some runs have no per-episode outcomes.`] : [])
  ]

/** The JSON form: `{ methods, columns, cells, differences, baselineDifferences, requestedDifferences, bootstrap }` with full-precision numbers (fractions, not percent). */
export const json = (c: Comparison): string => JSON.stringify(c, null, 2)
