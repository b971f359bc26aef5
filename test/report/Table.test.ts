import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Console, Effect, Exit } from "effect"
import { Command } from "effect/cli"
import * as TableCommand from "../../src/cli/TableCommand.ts"
import * as Table from "../../src/report/Table.ts"

const fixtures = path.join(import.meta.dirname, "..", "fixtures", "runs")
const runs = [
  "sft-shop__1__20261123T120000Z",
  "stepagent-implicit-shop__1__20261123T130000Z",
  "stepagent-implicit-shop__2__20261123T140000Z",
  "sft-house__1__20261123T150000Z",
  "sft-shop__2__20261123T160000Z"
].map((d) => path.join(fixtures, d))
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "table-test-"))

const run = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const console: Console.Console = { ...globalThis.console, log: (...xs: ReadonlyArray<unknown>) => void lines.push(xs.map(String).join(" ")) }
    yield* Command.runWith(TableCommand.command, { version: "test", renderErrors: false })(args).pipe(Effect.provideService(Console.Console, console))
    return lines.join("\n")
  }).pipe(Effect.provide(NodeServices.layer))

const entry = (method: string, env: string, avgReward: number, successRate: number, split: string | undefined = "test"): Table.Entry =>
  ({ dir: `runs/${method}-${env}-${avgReward}`, method, env, split, avgReward, successRate, episodes: 10 })

/** A run with outcomes: `wins` successes (reward 1) among `n` test tasks, failures with reward 0. */
const withOutcomes = (method: string, env: string, seed: number, wins: ReadonlyArray<number>, n = 10): Table.Entry => {
  const outcomes = Array.from({ length: n }, (_, i) => ({ task: `test:${i}`, reward: wins.includes(i) ? 1 : 0, success: wins.includes(i) }))
  const rate = wins.length / n
  return { ...entry(method, env, rate, rate), dir: `runs/${method}-${env}-${seed}`, seed, outcomes }
}

describe("Table.methodOf", () => {
  const config = (pipeline: string, inner: unknown) => ({ pipeline, config: inner })
  it("takes config.method, else the pipeline name without the environment's word", () => {
    assert.strictEqual(Table.methodOf(config("whatever", { method: " stepagent-inverse " }), "shop"), "stepagent-inverse")
    assert.strictEqual(Table.methodOf(config("sft-house", {}), "house"), "sft")
    assert.strictEqual(Table.methodOf(config("shop_stepagent_inverse", { method: "" }), "shop"), "stepagent_inverse")
    assert.strictEqual(Table.methodOf(config("ppo.qa.outcome", { method: 3 }), "qa"), "ppo.outcome")
    assert.strictEqual(Table.methodOf(config("shopping-dpo", null), "shop"), "shopping-dpo")
    assert.strictEqual(Table.methodOf(config("shop", {}), "shop"), "shop")
    assert.strictEqual(Table.methodOf(config("sft-shop", {}), undefined), "sft-shop")
  })
})

describe("Table.compare", () => {
  it("averages runs of one method and environment (mean, sample sd, count); keeps first-seen order", () => {
    const c = Table.compare([entry("sft", "shop", 0.5, 0.25), entry("ppo", "shop", 0.4, 0.2), entry("sft", "shop", 0.7, 0.35), entry("sft", "qa", 0.3, 0.1)])
    assert.deepStrictEqual(c.methods, ["sft", "ppo"])
    assert.deepStrictEqual(c.columns, ["shop", "qa"])
    const cell = c.cells.find((x) => x.method === "sft" && x.env === "shop")!
    assert.strictEqual(cell.runs, 2)
    assert.closeTo(cell.avgReward, 0.6, 1e-12)
    assert.closeTo(cell.successRate, 0.3, 1e-12)
    assert.closeTo(cell.avgRewardStd!, Math.sqrt(0.02), 1e-12)
    assert.strictEqual(cell.episodes, 20)
    assert.strictEqual(c.cells.find((x) => x.method === "ppo")!.avgRewardStd, null)
  })
  it("lists each cell's runs by seed (sorted, runs without a seed last) when some cell has two runs or more", () => {
    const c = Table.compare([
      { ...entry("sft", "house", 0.2, 0.185), seed: 2 },
      { ...entry("sft", "house", 0.2, 0.24), seed: 1 },
      entry("sft", "house", 0.2, 0.3),
      { ...entry("ppo", "house", 0.2, 0.2), seed: 1 }
    ])
    assert.deepStrictEqual(c.cells[0]!.successRates, [0.185, 0.24, 0.3])
    const md = Table.markdown(c)
    assert.include(md, "| sft | 1: 24.0, 2: 18.5, ?: 30.0 |")
    assert.include(md, "| ppo | 1: 20.0 |")
    // one run a cell: the table's own column says it all
    assert.notInclude(Table.markdown(Table.compare([entry("sft", "house", 0.2, 0.2)])), "### Success by seed")
  })
  it("keeps splits apart: a split other than test gets its own column", () => {
    const c = Table.compare([entry("sft", "shop", 0.5, 0.25), entry("sft", "shop", 0.9, 0.9, "valid")])
    assert.deepStrictEqual(c.columns, ["shop", "shop (valid)"])
    assert.strictEqual(c.cells.length, 2)
  })
  it("escapes | in Markdown cells", () => {
    const md = Table.markdown(Table.compare([entry("a|b", "shop", 0.5, 0.25)]))
    assert.include(md, "| a\\|b | 0.500 | 25.0% (n=1) |")
  })
  it("runs without outcomes (older summaries): a t interval from the run means (marked †), none for one run", () => {
    const c = Table.compare([entry("sft", "shop", 0.5, 0.2), entry("sft", "shop", 0.7, 0.4), entry("ppo", "shop", 0.4, 0.3)])
    const sft = c.cells.find((x) => x.method === "sft")!
    assert.strictEqual(sft.interval, "t")
    assert.closeTo(sft.successRateCi!.lo, 0.3 - 12.706 * 0.1, 1e-9)
    const ppo = c.cells.find((x) => x.method === "ppo")!
    assert.deepStrictEqual([ppo.interval, ppo.successRateCi, ppo.avgRewardCi], ["none", null, null])
    const md = Table.markdown(c)
    assert.include(md, "| sft | 0.600 [-0.671, 1.871]† | 30.0% [-97.1, 157.1]† (n=2) |")
    assert.include(md, "| ppo | 0.400 | 30.0% (n=1) |")
    assert.include(md, "† Student's t interval from the run means")
    assert.include(md, "No interval: a single run without per-episode outcomes.")
    assert.notInclude(md, "### Train split")
    assert.notInclude(md, "### Paired differences")
  })
  it("pairs each StepAgent variant with each baseline present, per column, by seed and task", () => {
    const c = Table.compare([
      withOutcomes("sft", "qa", 1, [0, 1]),
      withOutcomes("sft", "qa", 2, [3]),
      withOutcomes("outcome-ppo", "qa", 1, [0, 1, 2]),
      withOutcomes("stepagent-inverse", "qa", 1, [0, 1, 2, 3, 4, 5, 6, 7]),
      withOutcomes("stepagent-inverse", "qa", 2, [0, 1, 2, 3, 4, 5, 6, 7, 8]),
      withOutcomes("step-dpo", "qa", 1, [0]),
      withOutcomes("stepagent-implicit", "shop", 3, [0]),
      withOutcomes("sft", "shop", 1, [0])
    ])
    assert.deepStrictEqual(c.differences.map((d) => [d.column, d.method, d.baseline, d.seeds, d.tasks, d.verdict]), [
      ["qa", "stepagent-inverse", "sft", [1, 2], 20, "better"],
      ["qa", "stepagent-inverse", "outcome-ppo", [1], 10, "better"],
      ["shop", "stepagent-implicit", "sft", [], 0, null]
    ])
    assert.closeTo(c.differences[0]!.successRate!, ((0.8 - 0.2) + (0.9 - 0.1)) / 2, 1e-12)
    assert.strictEqual(c.differences[2]!.successRate, null)
    const md = Table.markdown(c)
    assert.include(md, "| qa | stepagent-inverse | sft | +70.0 [")
    assert.include(md, "| 2 | 20 | better |")
    assert.include(md, "| shop | stepagent-implicit | sft | - | 0 | - | no common seed |")
    assert.deepStrictEqual(Table.compare([withOutcomes("sft", "qa", 1, [0]), withOutcomes("step-dpo", "qa", 1, [1])]).differences, [])
    // the baselines against sft: outcome-ppo and step-dpo on qa (seed 1 only: sft's seed 2 has no partner); shop has no baseline
    assert.deepStrictEqual(c.baselineDifferences.map((d) => [d.column, d.method, d.baseline, d.seeds, d.tasks]), [
      ["qa", "outcome-ppo", "sft", [1], 10],
      ["qa", "step-dpo", "sft", [1], 10]
    ])
    assert.closeTo(c.baselineDifferences[0]!.successRate!, 0.3 - 0.2, 1e-12)
    assert.closeTo(c.baselineDifferences[1]!.successRate!, 0.1 - 0.2, 1e-12)
    assert.include(md, "### The baselines against sft")
    assert.include(md, "| qa | outcome-ppo | sft | +10.0 [")
    assert.notInclude(Table.markdown(Table.compare([withOutcomes("sft", "qa", 1, [0]), withOutcomes("stepagent-inverse", "qa", 1, [1])])), "### The baselines against sft")
  })
  it("pairs two methods asked for by name (A minus B), per column, as the other differences", () => {
    const entries = [
      withOutcomes("stepagent-implicit", "qa", 1, [0, 1, 2, 3]),
      withOutcomes("stepagent-implicit", "qa", 2, [0, 1]),
      withOutcomes("stepagent-implicit-lean", "qa", 1, [0, 1, 2]),
      withOutcomes("stepagent-implicit-lean", "qa", 2, [0, 1, 2, 3, 4]),
      withOutcomes("stepagent-implicit-lean", "qa", 3, [0])
    ]
    const c = Table.compare(entries, {}, [{ method: "stepagent-implicit-lean", baseline: "stepagent-implicit" }])
    assert.deepStrictEqual(c.requestedDifferences.map((d) => [d.column, d.method, d.baseline, d.seeds, d.tasks]), [
      ["qa", "stepagent-implicit-lean", "stepagent-implicit", [1, 2], 20]
    ])
    assert.closeTo(c.requestedDifferences[0]!.successRate!, ((0.3 - 0.4) + (0.5 - 0.2)) / 2, 1e-12) // seed 3 has no partner
    const md = Table.markdown(c)
    assert.include(md, "### Asked-for differences")
    assert.include(md, "| qa | stepagent-implicit-lean | stepagent-implicit | +10.0 [")
    assert.notInclude(Table.markdown(Table.compare(entries)), "### Asked-for differences")
    assert.deepStrictEqual(Table.unknownPairs(entries, [{ method: "stepagent-implicit", baseline: "sft" }]), [
      "--pair stepagent-implicit:sft: no run of method sft (methods: stepagent-implicit, stepagent-implicit-lean)"
    ])
  })

  it("parses --pair METHOD:BASELINE, with a one-line reason otherwise", () => {
    assert.deepStrictEqual(Table.parsePair("stepagent-inverse: sft-more"), { method: "stepagent-inverse", baseline: "sft-more" })
    assert.strictEqual(Table.parsePair("sft"), "--pair sft: expected METHOD:BASELINE, e.g. stepagent-implicit:sft-more")
    assert.strictEqual(Table.parsePair("a:b:c"), "--pair a:b:c: expected METHOD:BASELINE, e.g. stepagent-implicit:sft-more")
    assert.strictEqual(Table.parsePair(":sft"), "--pair :sft: expected METHOD:BASELINE, e.g. stepagent-implicit:sft-more")
    assert.strictEqual(Table.parsePair("sft:sft"), "--pair sft:sft: a method against itself")
  })

  it("counts a run as another method's with --as RUN_DIR=METHOD, with a one-line reason otherwise", () => {
    assert.deepStrictEqual(Table.parseAs("runs/a=b=sft"), { dir: "runs/a=b", method: "sft" })
    assert.strictEqual(Table.parseAs("runs/a"), "--as runs/a: expected RUN_DIR=METHOD, e.g. runs/house-sft-2400-wide__1__20261207T034827Z=sft")
    assert.strictEqual(Table.parseAs("runs/a="), "--as runs/a=: expected RUN_DIR=METHOD, e.g. runs/house-sft-2400-wide__1__20261207T034827Z=sft")
    const entries = [entry("sft-2400-wide", "house", 0.2, 0.2), entry("stepagent-implicit", "house", 0.3, 0.3)]
    const relabelled = Table.relabel(entries, [{ dir: `./${entries[0]!.dir}`, method: "sft" }], (d) => path.resolve(d))
    assert.deepStrictEqual(typeof relabelled === "string" ? relabelled : relabelled.map((e) => e.method), ["sft", "stepagent-implicit"])
    assert.strictEqual(Table.relabel(entries, [{ dir: "runs/other", method: "sft" }], (d) => path.resolve(d)), "--as runs/other=sft: runs/other is not one of the run directories given")
  })

  it.effect("--as makes a warm start run the table's sft row (the paired differences against sft with it)", () =>
    Effect.gen(function*() {
      const md = yield* run([runs[0]!, runs[1]!, "--as", `${runs[0]}=sft-elsewhere`])
      assert.include(md, "| sft-elsewhere |")
      assert.notInclude(md, "| sft |")
      const error = yield* Effect.exit(run([runs[0]!, "--as", "nowhere=sft"]))
      assert.isTrue(Exit.isFailure(error))
    }))

  it("averages train success and action accuracy over the runs that recorded them", () => {
    const c = Table.compare([
      { ...entry("sft", "shop", 0.5, 0.2), train: { avgReward: 0.9, successRate: 0.8, episodes: 10 }, actionAccuracy: 0.5 },
      { ...entry("sft", "shop", 0.5, 0.2), train: { avgReward: 0.7, successRate: 0.6, episodes: 10 } },
      entry("sft", "shop", 0.5, 0.2)
    ])
    const cell = c.cells[0]!
    assert.deepStrictEqual([cell.trainRuns, cell.actionAccuracyRuns, cell.actionAccuracy], [2, 1, 0.5])
    assert.closeTo(cell.trainSuccessRate!, 0.7, 1e-12)
    assert.include(Table.markdown(c), "| sft | 70.0% (n=2) | 50.0% (n=1) |")
    // the action accuracy at trained states: its own column when a run recorded it
    const f = Table.compare([
      { ...entry("sft", "house", 0.5, 0.2), actionAccuracy: 0.7, trainActionAccuracy: 0.66 },
      { ...entry("sft", "house", 0.5, 0.2), actionAccuracy: 0.6, trainActionAccuracy: 0.7 }
    ])
    assert.deepStrictEqual([f.cells[0]!.trainActionAccuracyRuns, Math.round(1e9 * f.cells[0]!.trainActionAccuracy!) / 1e9], [2, 0.68])
    assert.include(Table.markdown(f), "| sft | 65.0% (n=2) | 68.0% (n=2) |")
    assert.include(Table.markdown(f), "house at trained states")
    const v = Table.compare([
      { ...entry("sft", "qa", 0.5, 0.2), validation: { successRate: 0.3 } },
      { ...entry("sft", "qa", 0.5, 0.2), validation: { successRate: 0.1 } }
    ])
    assert.closeTo(v.cells[0]!.validationSuccessRate!, 0.2, 1e-12)
    assert.include(Table.markdown(v), "| method | qa validation success |")
    assert.include(Table.markdown(v), "| sft | 20.0% (n=2) |")
  })
})

describe("table command", () => {
  it.effect("prints the Markdown report of fixture runs (seeds pooled with intervals, a missing cell as -, an old summary without interval)", () =>
    Effect.gen(function*() {
      const md = yield* run(runs)
      assert.strictEqual(
        md,
        [
          "| method | shop reward | shop success | house reward | house success |",
          "| :-- | --: | --: | --: | --: |",
          "| sft | 0.511 [0.419, 0.615] | 27.5% [15.0, 42.5] (n=2) | 0.250 | 25.0% (n=1) |",
          "| stepagent-implicit | 0.600 [0.500, 0.703] | 37.5% [22.5, 52.5] (n=2) | - | - |",
          "",
          "Mean over the runs (seeds) [95% interval] (n = runs); reward to 3 decimals, success in percent.",
          "Intervals: hierarchical percentile bootstrap, 2000 resamples of the seeds, then of the episodes within each seed (seed 2411).",
          "No interval: a single run without per-episode outcomes.",
          "",
          "### Success by seed",
          "",
          "Each run's success in percent, by seed (the table's means pool them).",
          "",
          "| method | shop success by seed | house success by seed |",
          "| :-- | --: | --: |",
          "| sft | 1: 30.0, 2: 25.0 | 1: 25.0 |",
          "| stepagent-implicit | 1: 40.0, 2: 35.0 | - |",
          "",
          "### Train split and action accuracy",
          "",
          "Train success: the success rate on training tasks (the model can fit them); action accuracy: the greedy action's exact match at held-out expert states. Means over the runs that recorded them (n).",
          "",
          "| method | shop train success | shop action accuracy | house train success | house action accuracy |",
          "| :-- | --: | --: | --: | --: |",
          "| sft | 72.5% (n=2) | 61.0% (n=2) | - | - |",
          "| stepagent-implicit | 75.0% (n=2) | 66.0% (n=1) | - | - |",
          "",
          "### Paired differences",
          "",
          "Success rate, method minus baseline, in points [95% interval]: runs paired by seed, episodes by test task, resampled like the table (seeds, then tasks). An interval containing 0 is \"no difference\".",
          "",
          "| env | method | baseline | success difference | seeds | episodes | verdict |",
          "| :-- | :-- | :-- | --: | --: | --: | :-- |",
          "| shop | stepagent-implicit | sft | +10.0 [-15.0, +35.0] | 2 | 40 | no difference |"
        ].join("\n")
      )
    }))

  it.effect("prints JSON with --json: the existing keys unchanged, intervals and differences added", () =>
    Effect.gen(function*() {
      const c = JSON.parse(yield* run([...runs, "--json"])) as Table.Comparison
      assert.deepStrictEqual(Object.keys(c), ["methods", "columns", "cells", "differences", "baselineDifferences", "requestedDifferences", "bootstrap"])
      assert.deepStrictEqual(c.requestedDifferences, []) // none asked for
      assert.deepStrictEqual(c.baselineDifferences, []) // no baseline but sft among these runs
      assert.deepStrictEqual(c.methods, ["sft", "stepagent-implicit"])
      assert.deepStrictEqual(c.columns, ["shop", "house"])
      assert.deepStrictEqual(c.bootstrap, { resamples: 2000, seed: 2411, level: 0.95 })
      assert.strictEqual(c.cells.length, 3)
      const implicit = c.cells.find((x) => x.method === "stepagent-implicit")!
      const round = (x: number, d: number) => Number(x.toFixed(d))
      assert.deepStrictEqual(
        {
          ...implicit,
          avgReward: round(implicit.avgReward, 12),
          successRate: round(implicit.successRate, 12),
          avgRewardStd: round(implicit.avgRewardStd!, 6),
          successRateStd: round(implicit.successRateStd!, 6),
          dirs: implicit.dirs.length,
          avgRewardCi: { lo: round(implicit.avgRewardCi!.lo, 3), hi: round(implicit.avgRewardCi!.hi, 3) },
          successRateCi: { lo: round(implicit.successRateCi!.lo, 12), hi: round(implicit.successRateCi!.hi, 12) },
          trainAvgReward: round(implicit.trainAvgReward!, 12),
          trainSuccessRate: round(implicit.trainSuccessRate!, 12)
        },
        {
          method: "stepagent-implicit", env: "shop", split: "test", column: "shop", runs: 2, avgReward: 0.6, successRate: 0.375, avgRewardStd: 0.017678, successRateStd: 0.035355, episodes: 40, dirs: 2,
          seeds: [1, 2], successRates: [0.4, 0.35], interval: "bootstrap", avgRewardCi: { lo: 0.5, hi: 0.703 }, successRateCi: { lo: 0.225, hi: 0.525 },
          trainSuccessRate: 0.75, trainAvgReward: 0.825, trainRuns: 2, validationSuccessRate: null, validationRuns: 0, actionAccuracy: 0.66, actionAccuracyRuns: 1,
          trainActionAccuracy: null, trainActionAccuracyRuns: 0
        }
      )
      // sft-house has no config.method (the pipeline name without "house") and an old summary: no outcomes, no interval.
      const house = c.cells.find((x) => x.method === "sft" && x.env === "house")!
      assert.deepStrictEqual([house.interval, house.successRateCi, house.avgRewardCi, house.trainSuccessRate, house.actionAccuracy], ["none", null, null, null, null])
      assert.strictEqual(c.differences.length, 1)
      const d = c.differences[0]!
      assert.deepStrictEqual([d.column, d.env, d.split, d.method, d.baseline, d.seeds, d.tasks, d.interval, d.verdict], ["shop", "shop", "test", "stepagent-implicit", "sft", [1, 2], 40, "bootstrap", "no difference"])
      assert.closeTo(d.successRate!, 0.1, 1e-12)
      assert.closeTo(d.successRateCi!.lo, -0.15, 1e-12)
      assert.closeTo(d.successRateCi!.hi, 0.35, 1e-12)
      assert.closeTo(d.avgReward!, 0.6 - 0.51075, 1e-12)
    }))

  it.effect("--pair adds the asked-for difference; an unknown method or a malformed pair fails with one line", () =>
    Effect.gen(function*() {
      const md = yield* run([...runs, "--pair", "sft:stepagent-implicit"])
      assert.include(md, "### Asked-for differences")
      assert.include(md, "| shop | sft | stepagent-implicit | -10.0 [-35.0, +15.0] | 2 | 40 | no difference |")
      const message = (args: ReadonlyArray<string>) =>
        Effect.map(Effect.exit(run(args)), (exit) => Exit.isFailure(exit) ? String((exit.cause.reasons[0] as { error?: { message?: string } }).error?.message) : "succeeded")
      assert.strictEqual(yield* message([...runs, "--pair", "sft:outcome-ppo"]), "--pair sft:outcome-ppo: no run of method outcome-ppo (methods: sft, stepagent-implicit)")
      assert.strictEqual(yield* message([...runs, "--pair", "sft"]), "--pair sft: expected METHOD:BASELINE, e.g. stepagent-implicit:sft-more")
    }))

  it.effect("fails with one line naming eval/summary.json of a run that was never evaluated", () =>
    Effect.gen(function*() {
      const dir = path.join(tmp, "unevaluated")
      fs.mkdirSync(dir, { recursive: true })
      fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ pipeline: "sft-shop", config: {} }))
      const exit = yield* Effect.exit(run([runs[0]!, dir]))
      assert.isTrue(Exit.isFailure(exit))
      const message = Exit.isFailure(exit) ? String((exit.cause.reasons[0] as { error?: { message?: string } }).error?.message) : ""
      assert.strictEqual(message, `${path.join(dir, "eval", "summary.json")}: no such file (the run has no evaluation yet)`)

      fs.mkdirSync(path.join(dir, "eval"))
      fs.writeFileSync(path.join(dir, "eval", "summary.json"), JSON.stringify({ avgReward: "high", successRate: 0.1, episodes: 3, env: "shop" }))
      const bad = yield* Effect.exit(run([dir]))
      const badMessage = Exit.isFailure(bad) ? String((bad.cause.reasons[0] as { error?: { message?: string } }).error?.message) : ""
      assert.match(badMessage, /eval\/summary\.json: not an evaluation summary: .*avgReward/)
    }))
})
