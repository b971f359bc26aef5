import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { NodeFileSystem, NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { fc, it as fcIt } from "@fast-check/vitest"
import { Console, Effect, Exit, Stream } from "effect"
import { Command } from "effect/cli"
import * as ReportCommand from "../../src/cli/ReportCommand.ts"
import * as Curves from "../../src/report/Curves.ts"
import * as Downsample from "../../src/report/Downsample.ts"
import * as Heatmap from "../../src/report/Heatmap.ts"
import * as Markup from "../../src/report/Markup.ts"
import * as Report from "../../src/report/Report.ts"
import * as ReportCharts from "../../src/report/ReportCharts.ts"
import * as RunDir from "../../src/report/RunDir.ts"

const fixtures = path.join(import.meta.dirname, "..", "fixtures", "runs")
const SFT = path.join(fixtures, "sft-shop__1__20261123T120000Z")
const IMPLICIT = path.join(fixtures, "stepagent-implicit-shop__1__20261123T130000Z")
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "report-test-"))

/** The metric names of a metrics.jsonl, read independently of RunDir. */
const metricNames = (dir: string): Set<string> => {
  const names = new Set<string>()
  for (const line of fs.readFileSync(path.join(dir, "metrics.jsonl"), "utf8").split("\n")) {
    if (line.trim() === "") continue
    for (const [k, v] of Object.entries(JSON.parse(line) as Record<string, unknown>)) {
      if (k !== "stage" && k !== "iteration" && k !== "step" && typeof v === "number") names.add(k)
    }
  }
  return names
}

/** A run directory in tmp with the given files (relative path -> content). */
const makeRun = (name: string, files: Record<string, string>): string => {
  const dir = path.join(tmp, name)
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    fs.writeFileSync(path.join(dir, file), text)
  }
  return dir
}
const config = (pipeline: string) => JSON.stringify({ pipeline, seed: 3, config: { method: pipeline }, hash: "h" })

/** The HTML of a report built in memory (no files written). */
const html = (dirs: ReadonlyArray<string>, options: Report.Options = {}) =>
  Effect.gen(function*() {
    const runs = yield* Report.load(dirs, options)
    const charts = yield* Report.charts(runs)
    return { runs, charts, page: Report.page(runs, charts, options.maxPoints ?? Curves.DEFAULT_MAX_POINTS) }
  })

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit))
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons[0]
  if (reason === undefined || reason._tag !== "Fail") throw new Error("expected a typed failure")
  return reason.error
}

describe("Downsample", () => {
  fcIt.prop([fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { maxLength: 3000 }), fc.integer({ min: 2, max: 64 })])(
    "series keeps at most max buckets that partition the points (count, mean, min, max preserved)",
    (ys, max) => {
      const s = Downsample.series(max)
      ys.forEach((y, i) => s.push(i, y))
      const ps = s.points()
      assert.isAtMost(ps.length, max)
      assert.strictEqual(ps.reduce((n, p) => n + p.n, 0), ys.length)
      assert.strictEqual(s.count(), ys.length)
      if (ys.length === 0) return
      const mean = ys.reduce((a, b) => a + b, 0) / ys.length
      const bucketMean = ps.reduce((a, p) => a + p.y * p.n, 0) / ys.length
      assert.closeTo(bucketMean, mean, 1e-6 * (1 + Math.abs(mean)))
      assert.strictEqual(Math.min(...ps.map((p) => p.min)), Math.min(...ys))
      assert.strictEqual(Math.max(...ps.map((p) => p.max)), Math.max(...ys))
      for (let i = 1; i < ps.length; i++) assert.isAbove(ps[i]!.x, ps[i - 1]!.x)
      // Every full bucket holds `stride` points; only the last may hold fewer.
      for (const p of ps.slice(0, -1)) assert.strictEqual(p.n, s.stride())
      // Once thinned, at least half the (even) capacity stays used.
      if (ys.length > max) assert.isAtLeast(ps.length, Math.floor(max / 2))
    }
  )

  fcIt.prop([fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 50 })])("thin keeps at most max items, evenly spaced, first included", (n, max) => {
    const t = Downsample.thin<number>(max)
    for (let i = 0; i < n; i++) t.push(i)
    const items = t.items()
    assert.isAtMost(items.length, max)
    assert.strictEqual(t.count(), n)
    if (n === 0) return
    assert.strictEqual(items[0], 0)
    if (items.length > 1) {
      const stride = items[1]! - items[0]!
      items.forEach((x, k) => assert.strictEqual(x, k * stride))
      // Evenly over the whole stream: the last kept item is within one stride of the end.
      assert.isAbove(items[items.length - 1]! + stride, n - 1)
    }
  })
})

describe("Curves", () => {
  const row = (stage: string, iteration: number, step: number, v: number): RunDir.MetricRow => ({ stage, iteration, step, metrics: [["m", v]] })
  it("lays stages and iterations end to end on a global step axis, marking where each starts", () => {
    const acc = Curves.accumulate()
    for (const r of [row("sft", 0, 0, 1), row("sft", 0, 1, 2), row("sft", 0, 2, 3), row("ppo", 1, 0, 4), row("ppo", 1, 1, 5), row("ppo", 2, 0, 6), row("ppo", 2, 1, 7)]) acc.push(r)
    const c = acc.result()
    assert.deepStrictEqual(c.series.get("m")!.points().map((p) => [p.x, p.y]), [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7]])
    assert.deepStrictEqual(c.boundaries, [{ x: 0, stage: "sft", iteration: 0 }, { x: 3, stage: "ppo", iteration: 1 }, { x: 5, stage: "ppo", iteration: 2 }])
    assert.deepStrictEqual(c.boundaries.map(Curves.boundaryLabel), ["sft", "ppo 1", "ppo 2"])
    assert.strictEqual(c.rows, 7)
  })
  it("gives the same axis when the runner's step already counts across stages", () => {
    const acc = Curves.accumulate()
    for (const r of [row("sft", 0, 0, 1), row("sft", 0, 1, 2), row("ppo", 1, 2, 3), row("ppo", 1, 3, 4)]) acc.push(r)
    assert.deepStrictEqual(acc.result().series.get("m")!.points().map((p) => p.x), [0, 1, 2, 3])
  })
  it("groups metrics by prefix in a fixed order", () => {
    assert.deepStrictEqual(Curves.grouped(["loss/value", "zeta/x", "eval/avg_reward", "loss/policy", "plain", "alpha/y"]), [
      ["eval", ["eval/avg_reward"]],
      ["loss", ["loss/policy", "loss/value"]],
      ["alpha", ["alpha/y"]],
      ["other", ["plain"]],
      ["zeta", ["zeta/x"]]
    ])
  })
  it("places stage labels without overlap, dropping those that fit in no row", () => {
    const labels = Array.from({ length: 10 }, (_, i) => ({ x: i, label: "implicit 12" }))
    const placed = ReportCharts.placeLabels(labels, [0, 100], 400)
    assert.strictEqual(placed.length, 3)
    assert.deepStrictEqual(placed.map((p) => p.py), [0, 11, 22])
  })
})

describe("Markup and Heatmap", () => {
  it("escapes markup and drops XML-forbidden characters", () => {
    assert.strictEqual(Markup.escape(`<a href="x">'&'</a>\u0001`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
    assert.strictEqual(Markup.clip("abcdef", 4), "abc\u2026")
  })
  it("centres the colour scale on 0 when rewards take both signs, else on the middle of their range", () => {
    const both = Heatmap.scaleOf([-2, 1])
    assert.deepStrictEqual(both, { lo: -2, mid: 0, hi: 1 })
    assert.strictEqual(Heatmap.position(both, -2), -1)
    assert.strictEqual(Heatmap.position(both, 0), 0)
    assert.strictEqual(Heatmap.position(both, 1), 1)
    assert.deepStrictEqual(Heatmap.scaleOf([1, 3]), { lo: 1, mid: 2, hi: 3 })
    assert.strictEqual(Heatmap.colour(-1), "#b2182b")
    assert.strictEqual(Heatmap.colour(0), "#f7f7f7")
    assert.strictEqual(Heatmap.colour(1), "#2166ac")
  })
  it("draws one cell per step with a match/mismatch mark and an escaped tooltip", () => {
    const { svg } = Heatmap.render([{
      label: "ppo 1 · t<1>",
      title: "traj",
      steps: [
        { step: 0, expert: "a", agent: "a", agentReward: 1, match: true },
        { step: 1, expert: "click[x]", agent: "<img src=x onerror=alert(1)>", agentReward: -1, expertReward: 0.5, match: false }
      ]
    }], "t")
    assert.strictEqual(svg.match(/<g class="cell"/g)?.length, 2)
    assert.include(svg, `data-match="true"`)
    assert.include(svg, `data-match="false"`)
    assert.include(svg, "agent:  &lt;img src=x onerror=alert(1)&gt;")
    assert.include(svg, "(expert 0.5), differs from the expert")
    assert.notInclude(svg, "<img")
    assert.include(svg, "t&lt;1&gt;")
  })
})

describe("RunDir", () => {
  it.effect("names the directory or file at fault", () =>
    Effect.gen(function*() {
      const missing = failure(yield* Effect.exit(RunDir.open(path.join(tmp, "nope"))))
      assert.strictEqual(missing.reason, "NotFound")
      assert.strictEqual(missing.message, `${path.join(tmp, "nope")}: no such run directory`)

      const empty = makeRun("empty", { "notes.txt": "" })
      const noConfig = failure(yield* Effect.exit(RunDir.open(empty)))
      assert.strictEqual(noConfig.reason, "NotRunDir")
      assert.include(noConfig.message, path.join(empty, "config.json"))

      const file = failure(yield* Effect.exit(RunDir.open(path.join(empty, "notes.txt"))))
      assert.strictEqual(file.reason, "NotRunDir")

      const broken = makeRun("broken-config", { "config.json": "{ \"pipeline\": " })
      const badJson = failure(yield* Effect.exit(RunDir.open(broken)))
      assert.strictEqual(badJson.reason, "BadJson")
      assert.match(badJson.message, /broken-config\/config\.json: not valid JSON/)

      const wrong = makeRun("wrong-config", { "config.json": JSON.stringify({ seed: 1 }) })
      const noPipeline = failure(yield* Effect.exit(RunDir.open(wrong)))
      assert.strictEqual(noPipeline.reason, "BadRecord")
      assert.match(noPipeline.message, /wrong-config\/config\.json: not a run config: .*pipeline/)
      assert.notInclude(noPipeline.message, "\n")

      const dirConfig = path.join(tmp, "dir-config")
      fs.mkdirSync(path.join(dirConfig, "config.json"), { recursive: true })
      const isDir = failure(yield* Effect.exit(RunDir.open(dirConfig)))
      assert.strictEqual(isDir.reason, "Io")
      assert.strictEqual(isDir.message, `${path.join(dirConfig, "config.json")}: is a directory, not a file`)
      assert.isFalse(yield* RunDir.has(dirConfig, "config.json"))
      assert.isFalse(yield* RunDir.has(dirConfig, "absent.json"))
      assert.isTrue(yield* RunDir.has(SFT, RunDir.CONFIG))

      const bom = makeRun("bom-config", { "config.json": "\uFEFF" + config("p") })
      assert.strictEqual(failure(yield* Effect.exit(RunDir.open(bom))).reason, "BadJson") // as JSON.parse says: a BOM is not JSON
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("streams metrics, failing on a bad record by number, skipping (and reporting) a cut last line", () =>
    Effect.gen(function*() {
      const bad = makeRun("bad-metrics", {
        "config.json": config("p"),
        "metrics.jsonl": `{"stage":"sft","iteration":0,"step":0,"loss/sft":1}\n{"stage":"sft","iteration":0,"step":1,"loss/sft":0.9}\n{"stage":"sft","step":"two"}\n`
      })
      const e = failure(yield* Effect.exit(Stream.runCollect(RunDir.metrics(bad))))
      assert.strictEqual(e.reason, "BadRecord")
      assert.strictEqual(e.message, `${path.join(bad, "metrics.jsonl")}: record 3: \`step\` is missing or not a number`)

      const notJson = makeRun("not-json-metrics", { "config.json": config("p"), "metrics.jsonl": `{"stage":"a","step":0}\nnot json\n{"stage":"a","step":1}\n` })
      const e2 = failure(yield* Effect.exit(Stream.runCollect(RunDir.metrics(notJson))))
      assert.match(e2.message, /metrics\.jsonl: record 2: /)

      const cut = makeRun("cut-metrics", {
        "config.json": config("p"),
        "metrics.jsonl": `{"stage":"sft","step":0,"loss/sft":1,"note":"text is not a metric"}\n{"stage":"sft","step":1,"loss/sft":0.5}\n{"stage":"sft","st`
      })
      const items = yield* Stream.runCollect(RunDir.metrics(cut))
      assert.deepStrictEqual(items.map((i) => i._tag), ["Record", "Record", "Truncated"])
      const first = items[0]!
      assert.isTrue(first._tag === "Record" && first.value.iteration === 0 && first.value.metrics.length === 1)
      const { page } = yield* html([cut])
      assert.include(page, "metrics.jsonl ends inside a line (a write cut by a killed run): that line is skipped")
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

describe("Report", () => {
  it.effect("has a chart for every metric of every run, overlaid, plus evaluation, heatmap and config", () =>
    Effect.gen(function*() {
      const { charts, page, runs } = yield* html([SFT, IMPLICIT])
      const metrics = new Set([...metricNames(SFT), ...metricNames(IMPLICIT)])
      assert.isAbove(metrics.size, 12)
      const drawn = [...page.matchAll(/<figure class="curve" id="[^"]+" data-chart="([^"]+)">/g)].map((m) => m[1]!)
      assert.deepStrictEqual(new Set(drawn), metrics)
      assert.strictEqual(drawn.length, metrics.size)
      for (const c of charts.filter((c) => c.group !== "heatmap")) {
        assert.match(c.svg, /^<svg /)
        assert.match(c.svg, /class="mark-(line|symbol) role-mark/)
      }
      // Groups in the fixed order.
      const groups = [...page.matchAll(/<h3 id="group-([^"]+)">/g)].map((m) => m[1])
      assert.deepStrictEqual(groups, ["eval", "reward", "policy", "loss", "objective", "dpo", "perf", "timing"])
      // Overlay: a metric both runs log has both runs' colours and both names in its legend.
      const loss = charts.find((c) => c.name === "loss/sft")!.svg
      assert.include(loss, `stroke="${ReportCharts.colourOf(0)}"`)
      assert.include(loss, `stroke="${ReportCharts.colourOf(1)}"`)
      assert.include(loss, runs[0]!.label)
      assert.include(loss, runs[1]!.label)
      // A metric only one run logs has only that run in its legend.
      const kl = charts.find((c) => c.name === "policy/approxkl")!.svg
      assert.notInclude(kl, runs[0]!.label)
      // Stage boundaries are marked.
      assert.include(kl, ">ppo 2<")
      // Evaluation table, heatmap (6 trajectories) and config of both runs.
      assert.include(page, `<td class="num">0.6125</td><td class="num">40.0%</td>`)
      assert.strictEqual(page.match(/<g class="cell"/g)?.length, runs[1]!.samples!.rows.reduce((n, t) => n + t.steps.length, 0))
      assert.include(page, "no sampled trajectories")
      assert.include(page, "&quot;pipeline&quot;: &quot;sft-shop&quot;")
      assert.include(page, "&quot;pipeline&quot;: &quot;stepagent-implicit-shop&quot;")
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("escapes every text from the run (actions, task ids, metric names) and loads nothing from outside", () =>
    Effect.gen(function*() {
      const odd = makeRun("odd-metric", {
        "config.json": JSON.stringify({ pipeline: "p</pre><script>x()</script>", config: { note: "<b>bold</b>" } }),
        "metrics.jsonl": `{"stage":"<i>s</i>","iteration":0,"step":0,"custom/<b>&\\"x\\"":1}\n{"stage":"<i>s</i>","iteration":0,"step":1,"custom/<b>&\\"x\\"":2}\n`
      })
      const { page } = yield* html([IMPLICIT, odd])
      assert.notMatch(page, /<script/i)
      assert.notInclude(page, "<b>")
      assert.notInclude(page, "<i>")
      assert.include(page, "click[&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;]")
      assert.include(page, "train:1&lt;i&gt;&amp;")
      assert.include(page, `data-chart="custom/&lt;b&gt;&amp;&quot;x&quot;"`)
      assert.include(page, "&lt;b&gt;bold&lt;/b&gt;")
      // Self-contained: no script, stylesheet, image or font from anywhere.
      assert.notMatch(page, /\ssrc=/i)
      assert.notMatch(page, /href="(https?:)?\/\//i)
      assert.notMatch(page, /url\((?!#)/i)
      assert.notMatch(page, /@import/i)
      // Ids are unique across the inlined SVGs.
      const ids = [...page.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!)
      assert.strictEqual(new Set(ids).size, ids.length)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("downsamples a long metrics file to at most max points per series, streaming", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      for (let i = 0; i < 20_000; i++) lines.push(JSON.stringify({ stage: i < 5000 ? "sft" : "ppo", iteration: i < 5000 ? 0 : 1, step: i < 5000 ? i : i - 5000, "loss/x": Math.sin(i / 500) + (i % 7) / 10 }))
      const dir = makeRun("long", { "config.json": config("long"), "metrics.jsonl": lines.join("\n") + "\n" })
      const { charts, page, runs } = yield* html([dir], { maxPoints: 100 })
      const s = runs[0]!.curves.series.get("loss/x")!
      assert.strictEqual(s.count(), 20_000)
      assert.isAtMost(s.points().length, 100)
      assert.isAtLeast(s.points().length, 50)
      assert.include(page, "downsampled to at most 100 points")
      // The min-max band is drawn for a thinned series.
      assert.match(charts[0]!.svg, /class="mark-area role-mark/)
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("writes the page and a PNG per chart, byte-for-byte the same twice; one run's default is <run>/report.html", () =>
    Effect.gen(function*() {
      const run = path.join(tmp, "copy")
      fs.cpSync(IMPLICIT, run, { recursive: true })
      const a = yield* Report.write([run])
      assert.strictEqual(a.out, path.join(run, "report.html"))
      assert.strictEqual(a.figures.length, a.charts)
      for (const f of a.figures) {
        assert.strictEqual(path.dirname(f), path.join(run, "figures"))
        assert.deepStrictEqual([...fs.readFileSync(f).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
      }
      assert.isTrue(a.figures.some((f) => path.basename(f) === "heatmap.png"))
      assert.isTrue(a.figures.some((f) => path.basename(f) === "loss-sft.png"))
      const first = fs.readFileSync(a.out)
      yield* Report.write([run], { figures: false })
      assert.isTrue(first.equals(fs.readFileSync(a.out)))
      assert.strictEqual(Report.defaultOut([run, SFT]), "report.html")
      assert.deepStrictEqual(Report.labels(["a/x", "b/x/", "c/y"]), ["x", "x#2", "y"])
    }).pipe(Effect.provide(NodeFileSystem.layer)))

  it.effect("a page the file system refuses fails in one line, in the system's words, and leaves no temporary", () =>
    Effect.gen(function*() {
      const out = path.join(tmp, "taken", "report.html")
      fs.mkdirSync(out, { recursive: true }) // a directory where the page should go: the rename is refused
      const e = failure(yield* Effect.exit(Report.write([SFT], { out, figures: false })))
      assert.strictEqual(e._tag, "ReportError")
      assert.strictEqual(e.message, `${out}: cannot write (EISDIR: illegal operation on a directory, rename '${out}.tmp-${process.pid}' -> '${out}')`)
      assert.deepStrictEqual(fs.readdirSync(path.dirname(out)), ["report.html"])
      const notDir = path.join(tmp, "taken", "report.html", "x")
      fs.writeFileSync(notDir, "")
      const e2 = failure(yield* Effect.exit(Report.write([SFT], { out: path.join(notDir, "report.html"), figures: false })))
      assert.strictEqual(e2.message, `${notDir}: cannot write (EEXIST: file already exists, mkdir '${notDir}')`)
    }).pipe(Effect.provide(NodeFileSystem.layer)))
})

/** Runs the command in process; returns the lines it printed. */
const runCommand = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const console: Console.Console = { ...globalThis.console, log: (...xs: ReadonlyArray<unknown>) => void lines.push(xs.map(String).join(" ")) }
    yield* Command.runWith(ReportCommand.command, { version: "test", renderErrors: false })(args).pipe(Effect.provideService(Console.Console, console))
    return lines
  }).pipe(Effect.provide(NodeServices.layer))

describe("report command", () => {
  it.effect("prints the page's path first, then what it holds", () =>
    Effect.gen(function*() {
      const out = path.join(tmp, "cmd", "several.html")
      const lines = yield* runCommand([SFT, IMPLICIT, "--out", out, "--no-figures"])
      assert.strictEqual(lines[0], out)
      assert.match(lines[1]!, /^17 charts, \d+ bytes$/) // 16 metrics + 1 heatmap
      assert.isTrue(fs.existsSync(out))
      assert.isFalse(fs.existsSync(path.join(tmp, "cmd", "figures")))
      const bad = yield* Effect.exit(runCommand([SFT, "--max-points", "1"]))
      assert.match(failure(bad).message, /--max-points 1: must be at least 2/)
    }))

  it("fails with one line naming the run directory, exit code 1 (through the stepagent binary)", async () => {
    const cli = path.join(import.meta.dirname, "../../bin/stepagent.ts")
    const missing = path.join(tmp, "no-such-run")
    const error = await promisify(execFile)(process.execPath, [cli, "report", missing], { cwd: tmp }).then(() => undefined, (e: unknown) => e)
    const e = error as { code: number; stderr: string; stdout: string }
    assert.strictEqual(e.code, 1)
    assert.strictEqual(e.stderr, `stepagent: ${missing}: no such run directory\n`)
    assert.strictEqual(e.stdout, "")
  })
})
