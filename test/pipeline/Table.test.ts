import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Console, Effect, Exit } from "effect"
import { Command } from "effect/cli"
import * as TableCommand from "../../src/cli/TableCommand.ts"
import * as Table from "../../src/pipeline/Table.ts"

const fixtures = path.join(import.meta.dirname, "..", "fixtures", "runs")
const runs = [
  "sft-shop__1__20261123T120000Z",
  "stepagent-implicit-shop__1__20261123T130000Z",
  "stepagent-implicit-shop__2__20261123T140000Z",
  "sft-house__1__20261123T150000Z"
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
  it("keeps splits apart: a split other than test gets its own column", () => {
    const c = Table.compare([entry("sft", "shop", 0.5, 0.25), entry("sft", "shop", 0.9, 0.9, "valid")])
    assert.deepStrictEqual(c.columns, ["shop", "shop (valid)"])
    assert.strictEqual(c.cells.length, 2)
  })
  it("escapes | in Markdown cells", () => {
    const md = Table.markdown(Table.compare([entry("a|b", "shop", 0.5, 0.25)]))
    assert.include(md, "| a\\|b | 0.500 | 25.0% |")
  })
})

describe("table command", () => {
  it.effect("prints the Markdown table of fixture runs (seeds averaged, a missing cell as -)", () =>
    Effect.gen(function*() {
      const md = yield* run(runs)
      assert.strictEqual(
        md,
        [
          "| method | shop reward | shop success | house reward | house success |",
          "| :-- | --: | --: | --: | --: |",
          "| sft | 0.521 | 30.0% | 0.250 | 25.0% |",
          "| stepagent-implicit | 0.600 ± 0.018 (n=2) | 37.5% ± 3.5 | - | - |",
          "",
          "± is the sample standard deviation over the runs (seeds) averaged; n the number of runs."
        ].join("\n")
      )
    }))

  it.effect("prints JSON with --json", () =>
    Effect.gen(function*() {
      const c = JSON.parse(yield* run([...runs, "--json"])) as Table.Comparison
      assert.deepStrictEqual(c.methods, ["sft", "stepagent-implicit"])
      assert.deepStrictEqual(c.columns, ["shop", "house"])
      assert.strictEqual(c.cells.length, 3)
      const implicit = c.cells.find((x) => x.method === "stepagent-implicit")!
      assert.deepStrictEqual(
        { ...implicit, avgReward: Number(implicit.avgReward.toFixed(12)), successRate: Number(implicit.successRate.toFixed(12)), avgRewardStd: Number(implicit.avgRewardStd!.toFixed(6)), successRateStd: Number(implicit.successRateStd!.toFixed(6)), dirs: implicit.dirs.length },
        { method: "stepagent-implicit", env: "shop", split: "test", column: "shop", runs: 2, avgReward: 0.6, successRate: 0.375, avgRewardStd: 0.017678, successRateStd: 0.035355, episodes: 40, dirs: 2 }
      )
      // sft-house has no config.method: the pipeline name without "house".
      assert.isTrue(c.cells.some((x) => x.method === "sft" && x.env === "house"))
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
