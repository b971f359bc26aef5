/**
 * The HTML report of one or more run directories: one self-contained page (inline CSS and SVG, no
 * script, no external resource, so it opens offline and from a mail attachment) holding
 *
 * 1. the runs (pipeline, method, seed, config hash, backend) with their colour,
 * 2. evaluation results (`eval/summary.json` of each run),
 * 3. learning curves of every metric in `metrics.jsonl`, grouped by prefix, every run overlaid, on a
 *    global step axis with the stage boundaries marked (see Curves.ts), downsampled while streaming,
 * 4. the per-step reward heatmap of sampled trajectories (see Heatmap.ts),
 * 5. each run's resolved config as pretty JSON,
 *
 * and a PNG of every chart in `figures/` beside the page, for papers. Nothing in the page depends on
 * the wall clock: the same run directories give the same bytes.
 */
import * as NodePath from "node:path"
import { Effect, FileSystem, Stream } from "effect"
import * as Curves from "./Curves.ts"
import * as Downsample from "./Downsample.ts"
import * as Failpoint from "../fault/Failpoint.ts"
import * as SystemMessage from "../fault/SystemMessage.ts"
import * as Heatmap from "./Heatmap.ts"
import * as Markup from "./Markup.ts"
import * as ReportCharts from "./ReportCharts.ts"
import { ReportError } from "./ReportError.ts"
import * as RunDir from "./RunDir.ts"
import * as Table from "./Table.ts"

export interface Options {
  /** The page to write. Default: see `defaultOut`. */
  readonly out?: string | undefined
  /** Points kept per metric and run (Curves.DEFAULT_MAX_POINTS). */
  readonly maxPoints?: number | undefined
  /** Sampled trajectories shown per run in the heatmap (DEFAULT_HEATMAP_ROWS). */
  readonly heatmapRows?: number | undefined
  /** Write `figures/*.png` beside the page (default true). */
  readonly figures?: boolean | undefined
}

// 40 rows of 18 px: one screen of heatmap per run; more sampled trajectories are thinned evenly over the run.
export const DEFAULT_HEATMAP_ROWS = 40

/** `<run-dir>/report.html` for one run (it belongs with the run); `report.html` in the working directory for several. */
export const defaultOut = (dirs: ReadonlyArray<string>): string => dirs.length === 1 ? NodePath.join(dirs[0]!, "report.html") : "report.html"

/** What the report knows about one run. */
export interface RunData {
  readonly label: string
  readonly colour: string
  readonly run: RunDir.Run
  readonly method: string
  readonly summary: RunDir.EvalSummary | undefined
  readonly curves: Curves.RunCurves
  /** The heatmap rows (thinned) and how many sampled trajectories the file holds; undefined without a samples file. */
  readonly samples: { readonly rows: ReadonlyArray<RunDir.SampledTrajectory>; readonly total: number } | undefined
  /** Things the reader should know (a missing file, a cut last line). */
  readonly notes: ReadonlyArray<string>
}

/** A rendered chart of the page. */
export interface Chart {
  /** Metric name, or `heatmap <run>`. */
  readonly name: string
  readonly group: string
  /** The figure's file name in `figures/`. */
  readonly file: string
  readonly svg: string
}

/** Short unique labels for the runs: the directory's base name, `#k` appended to repeats. */
export const labels = (dirs: ReadonlyArray<string>): ReadonlyArray<string> => {
  const seen = new Map<string, number>()
  return dirs.map((d) => {
    const base = NodePath.basename(NodePath.resolve(d))
    const k = (seen.get(base) ?? 0) + 1
    seen.set(base, k)
    return k === 1 ? base : `${base}#${k}`
  })
}

const loadRun = Effect.fn("Report.loadRun")(function*(dir: string, label: string, index: number, maxPoints: number, heatmapRows: number) {
  const run = yield* RunDir.open(dir)
  const notes: Array<string> = []
  const summary = (yield* RunDir.has(dir, RunDir.SUMMARY)) ? yield* RunDir.summary(dir) : undefined
  if (summary === undefined) notes.push(`no ${RunDir.SUMMARY} (not evaluated yet)`)
  const acc = Curves.accumulate(maxPoints)
  if (yield* RunDir.has(dir, RunDir.METRICS)) {
    yield* RunDir.metrics(dir).pipe(Stream.runForEach((item) =>
      Effect.sync(() => {
        if (item._tag === "Record") acc.push(item.value)
        else notes.push(`${RunDir.METRICS} ends inside a line (a write cut by a killed run): that line is skipped`)
      })
    ))
  } else notes.push(`no ${RunDir.METRICS}`)
  let samples: RunData["samples"]
  if (yield* RunDir.has(dir, RunDir.SAMPLES)) {
    const kept = Downsample.thin<RunDir.SampledTrajectory>(heatmapRows)
    yield* RunDir.samples(dir).pipe(Stream.runForEach((item) =>
      Effect.sync(() => {
        if (item._tag === "Record") kept.push(item.value)
        else notes.push(`${RunDir.SAMPLES} ends inside a line (a write cut by a killed run): that line is skipped`)
      })
    ))
    samples = { rows: kept.items(), total: kept.count() }
  }
  const method = Table.methodOf(run.config, summary?.env)
  return { label, colour: ReportCharts.colourOf(index), run, method, summary, curves: acc.result(), samples, notes } satisfies RunData
})

/** Reads every run directory (streaming the JSONL files); fails on the first missing or broken run. */
export const load = (dirs: ReadonlyArray<string>, options: Options = {}): Effect.Effect<ReadonlyArray<RunData>, RunDir.RunDirError, FileSystem.FileSystem> => {
  const names = labels(dirs)
  const maxPoints = options.maxPoints ?? Curves.DEFAULT_MAX_POINTS
  const rows = options.heatmapRows ?? DEFAULT_HEATMAP_ROWS
  return Effect.forEach(dirs, (d, i) => loadRun(d, names[i]!, i, maxPoints, rows))
}

/** Every metric of any run, grouped (Curves.grouped). */
export const metricGroups = (runs: ReadonlyArray<RunData>) => Curves.grouped(runs.flatMap((r) => [...r.curves.series.keys()]))

/** Renders every chart: one per metric (runs overlaid), one heatmap per run with samples. */
export const charts = Effect.fn("Report.charts")(function*(runs: ReadonlyArray<RunData>) {
  const out: Array<Chart> = []
  const names = runs.map((r) => r.label)
  const files = new Set<string>()
  const fileFor = (name: string): string => {
    const base = ReportCharts.figureName(name)
    let file = `${base}.png`
    for (let k = 2; files.has(file); k++) file = `${base}-${k}.png`
    files.add(file)
    return file
  }
  let n = 0
  for (const [group, metrics] of metricGroups(runs)) {
    for (const metric of metrics) {
      const curves: Array<ReportCharts.RunSeries> = []
      for (const r of runs) {
        const series = r.curves.series.get(metric)
        if (series !== undefined) curves.push({ run: r.label, series, boundaries: r.curves.boundaries })
      }
      const svg = yield* ReportCharts.toSvg(ReportCharts.curveSpec(metric, curves, names), metric)
      out.push({ name: metric, group, file: fileFor(metric), svg: ReportCharts.scopeIds(svg, `c${n++}-`) })
    }
  }
  for (const r of runs) {
    if (r.samples === undefined || r.samples.rows.length === 0) continue
    const title = runs.length === 1 ? "per-step agent reward" : `per-step agent reward: ${r.label}`
    const { svg } = Heatmap.render(Heatmap.rowsOf(r.samples.rows), title)
    out.push({ name: `heatmap ${r.label}`, group: "heatmap", file: fileFor(runs.length === 1 ? "heatmap" : `heatmap-${r.label}`), svg })
  }
  return out
})

// ---------------------------------------------------------------------------------------------------
// The page (pure).

const e = Markup.escape

const num = (x: number | undefined, digits = 4): string => x === undefined ? "-" : Number(x.toFixed(digits)).toString()
const pct = (x: number | undefined): string => x === undefined ? "-" : `${(100 * x).toFixed(1)}%`

const str = (u: unknown): string | undefined => typeof u === "string" ? u : typeof u === "number" ? String(u) : undefined

const backendOf = (u: unknown): string => {
  if (typeof u !== "object" || u === null) return str(u) ?? "-"
  const o = u as Record<string, unknown>
  const parts = [str(o["name"]), str(o["matmul"]), o["threads"] === undefined ? undefined : `${str(o["threads"])} thread${o["threads"] === 1 ? "" : "s"}`].filter((p) => p !== undefined)
  return parts.length === 0 ? "-" : parts.join(", ")
}

const swatch = (colour: string): string => `<span class="swatch" style="background:${e(colour)}"></span>`

const CSS = `
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 0; color: #222; background: #f6f6f4; }
main { max-width: 1120px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 20px 0 6px; color: #444; text-transform: uppercase; letter-spacing: 0.04em; }
nav a { margin-right: 14px; font-size: 13px; }
p.note, li.note { color: #8a5a00; font-size: 13px; }
p.help { color: #555; font-size: 13px; max-width: 900px; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(500px, 1fr)); gap: 12px; }
figure { margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 8px; overflow-x: auto; }
figure svg { display: block; max-width: 100%; height: auto; }
figure.heatmap svg { max-width: none; }
figcaption { font-size: 11px; color: #777; margin-top: 4px; }
pre { background: #fff; border: 1px solid #ddd; padding: 10px; font-size: 12px; overflow-x: auto; }
details { margin: 8px 0; }
summary { cursor: pointer; font-size: 13px; }
code { font-size: 12px; }
`

const runsTable = (runs: ReadonlyArray<RunData>): string => {
  const rows = runs.map((r) => {
    const c = r.run.config
    return `<tr><td>${swatch(r.colour)}${e(r.label)}</td><td>${e(c.pipeline)}</td><td>${e(r.method)}</td><td class="num">${c.seed === undefined ? "-" : e(String(c.seed))}</td>` +
      `<td><code>${e(c.hash ?? "-")}</code></td><td>${e(backendOf(c.backend))}</td><td>${e(c.createdAt ?? "-")}</td>` +
      `<td class="num">${r.curves.rows}</td><td><code>${e(r.run.dir)}</code></td></tr>`
  })
  return `<table class="runs"><thead><tr><th>run</th><th>pipeline</th><th>method</th><th>seed</th><th>config hash</th><th>backend</th><th>created</th><th>metric rows</th><th>directory</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
}

const evalTable = (runs: ReadonlyArray<RunData>): string => {
  const rows = runs.map((r) => {
    const s = r.summary
    return s === undefined
      ? `<tr><td>${swatch(r.colour)}${e(r.label)}</td><td>${e(r.method)}</td><td colspan="6">not evaluated (no ${e(RunDir.SUMMARY)})</td></tr>`
      : `<tr><td>${swatch(r.colour)}${e(r.label)}</td><td>${e(r.method)}</td><td>${e(s.env)}</td><td>${e(s.split ?? "-")}</td><td>${e(s.policy ?? "-")}</td>` +
        `<td class="num">${num(s.episodes, 0)}</td><td class="num">${num(s.avgReward)}</td><td class="num">${pct(s.successRate)}</td></tr>`
  })
  return `<table class="eval"><thead><tr><th>run</th><th>method</th><th>env</th><th>split</th><th>policy</th><th>episodes</th><th>average reward</th><th>success rate</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
}

const figure = (c: Chart, id: string, cls: string): string =>
  `<figure class="${cls}" id="${e(id)}" data-chart="${e(c.name)}">${c.svg}<figcaption>${e(c.name)} · <a href="figures/${e(c.file)}">figures/${e(c.file)}</a></figcaption></figure>`

const sampleDetails = (r: RunData): string => {
  if (r.samples === undefined) return ""
  const rows = r.samples.rows.flatMap((t) =>
    t.steps.map((s, i) =>
      `<tr>${i === 0 ? `<td rowspan="${t.steps.length}">${e(Curves.boundaryLabel({ x: 0, stage: t.stage, iteration: t.iteration }))}<br><code>${e(t.taskId)}</code></td>` : ""}` +
      `<td class="num">${e(String(s.step))}</td><td>${s.match ? "=" : "&ne;"}</td><td class="num">${num(s.agentReward)}</td><td class="num">${num(s.expertReward)}</td>` +
      `<td><code>${e(s.expert)}</code></td><td><code>${e(s.agent)}</code></td></tr>`
    )
  )
  return `<details><summary>actions of the ${r.samples.rows.length} trajectories shown (${e(r.label)})</summary><table class="actions"><thead><tr><th>trajectory</th><th>step</th><th>match</th><th>agent reward</th><th>expert reward</th><th>expert action</th><th>agent action</th></tr></thead><tbody>${rows.join("")}</tbody></table></details>`
}

const HEATMAP_HELP = "Rows are sampled trajectories (oldest iteration at the top), columns their steps. " +
  "Each cell is the step reward StepAgent gave the agent's action at the expert's state: blue high (judged expert-like), red low; " +
  "white is 0 when rewards take both signs, else the middle of their range. A dot marks an agent action identical to the expert's, a cross one that differs. " +
  "Hover a cell for both actions; the table under the heatmap lists them too."

/** The page, from loaded runs and their rendered charts (pure: same inputs, same bytes). */
export const page = (runs: ReadonlyArray<RunData>, rendered: ReadonlyArray<Chart>, maxPoints: number): string => {
  const title = runs.length === 1 ? `stepagent report: ${runs[0]!.label}` : `stepagent report: ${runs.length} runs`
  const body: Array<string> = []
  body.push(`<h1>${e(title)}</h1>`)
  body.push(`<nav><a href="#runs">runs</a><a href="#evaluation">evaluation</a><a href="#curves">learning curves</a><a href="#heatmap">step rewards</a><a href="#config">config</a></nav>`)
  body.push(`<h2 id="runs">Runs</h2>`, runsTable(runs))
  const notes = runs.flatMap((r) => [...new Set(r.notes)].map((n) => `<li class="note">${e(r.label)}: ${e(n)}</li>`))
  if (notes.length > 0) body.push(`<ul>${notes.join("")}</ul>`)
  body.push(`<h2 id="evaluation">Evaluation</h2>`, evalTable(runs))

  body.push(`<h2 id="curves">Learning curves</h2>`)
  const thinned = runs.some((r) => [...r.curves.series.values()].some((s) => s.stride() > 1))
  body.push(`<p class="help">x: global step (stages and iterations laid end to end; dashed lines mark where each starts). ` +
    (thinned ? `Long series are downsampled to at most ${maxPoints} points: each point is the mean of consecutive steps, the light band their min-max range.` : `Every logged step is drawn.`) +
    `</p>`)
  const curves = rendered.filter((c) => c.group !== "heatmap")
  if (curves.length === 0) body.push(`<p class="note">No metrics logged.</p>`)
  let k = 0
  for (const [group] of metricGroups(runs)) {
    body.push(`<h3 id="group-${e(group)}">${e(group)}</h3><div class="grid">`)
    for (const c of curves.filter((c) => c.group === group)) body.push(figure(c, `chart-${k++}`, "curve"))
    body.push(`</div>`)
  }

  body.push(`<h2 id="heatmap">Step rewards of sampled trajectories</h2>`, `<p class="help">${e(HEATMAP_HELP)}</p>`)
  const maps = rendered.filter((c) => c.group === "heatmap")
  for (const r of runs) {
    const map = maps.find((c) => c.name === `heatmap ${r.label}`)
    if (r.samples === undefined || map === undefined) {
      body.push(`<p class="note">${e(r.label)}: no sampled trajectories (${e(RunDir.SAMPLES)} is absent or empty; SFT and outcome-PPO runs write none).</p>`)
      continue
    }
    const shown = r.samples.rows.length
    body.push(`<h3>${swatch(r.colour)}${e(r.label)}</h3>`)
    if (shown < r.samples.total) body.push(`<p class="help">${shown} of ${r.samples.total} sampled trajectories, evenly spaced over the run.</p>`)
    if (r.samples.rows.some((t) => t.steps.length > Heatmap.MAX_COLUMNS)) body.push(`<p class="help">Only the first ${Heatmap.MAX_COLUMNS} steps of longer trajectories are drawn (the table lists all).</p>`)
    body.push(figure(map, `heatmap-${runs.indexOf(r)}`, "heatmap"), sampleDetails(r))
  }

  body.push(`<h2 id="config">Config</h2>`)
  for (const r of runs) {
    body.push(`<details${runs.length === 1 ? " open" : ""}><summary>${swatch(r.colour)}${e(r.label)}: <code>${e(NodePath.join(r.run.dir, RunDir.CONFIG))}</code></summary><pre>${e(JSON.stringify(r.run.raw, null, 2))}</pre></details>`)
  }
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${e(title)}</title><style>${CSS}</style></head><body><main>${body.join("\n")}</main></body></html>\n`
}

// ---------------------------------------------------------------------------------------------------
// Writing.

const writeError = (path: string, err: unknown): ReportError =>
  new ReportError({ reason: "Write", path, message: `${path}: cannot write (${SystemMessage.of(err).split("\n")[0]})` })

/**
 * Write then rename: a reader (or a browser reloading) never sees half a page. A write the disk refuses leaves no
 * temporary holding the space. Uninterrupted once begun, so that no temporary is left half written either.
 */
const writeFile = (path: string, data: string | Uint8Array): Effect.Effect<void, ReportError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const tmp = `${path}.tmp-${process.pid}`
    yield* (typeof data === "string" ? fs.writeFileString(tmp, data) : fs.writeFile(tmp, data)).pipe(
      Effect.andThen(fs.rename(tmp, path)),
      Effect.tapError(() => Effect.ignore(fs.remove(tmp, { force: true }))),
      Effect.mapError((err) => writeError(path, err))
    )
  }).pipe(Effect.uninterruptible)

export interface Written {
  readonly out: string
  readonly figures: ReadonlyArray<string>
  readonly charts: number
  readonly bytes: number
}

/** Reads the runs, renders the charts, writes the page and (unless disabled) `figures/*.png` beside it. */
export const write = Effect.fn("Report.write")(function*(dirs: ReadonlyArray<string>, options: Options = {}) {
  const out = options.out ?? defaultOut(dirs)
  const maxPoints = options.maxPoints ?? Curves.DEFAULT_MAX_POINTS
  const runs = yield* load(dirs, options)
  const rendered = yield* charts(runs)
  const html = page(runs, rendered, maxPoints)
  const fs = yield* FileSystem.FileSystem
  const dir = NodePath.dirname(out)
  yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError((err) => writeError(dir, err)))
  const figures: Array<string> = []
  // Figures by default: they are what a paper needs, and cost about a second.
  if (options.figures ?? true) {
    const figDir = NodePath.join(dir, "figures")
    yield* fs.makeDirectory(figDir, { recursive: true }).pipe(Effect.mapError((err) => writeError(figDir, err)))
    for (const c of rendered) {
      const path = NodePath.join(figDir, c.file)
      yield* writeFile(path, yield* ReportCharts.toPng(c.svg, c.name))
      yield* Failpoint.hit("report.figure")
      figures.push(path)
    }
  }
  yield* writeFile(out, html)
  return { out, figures, charts: rendered.length, bytes: Buffer.byteLength(html) } satisfies Written
})
