/**
 * The report's learning-curve charts: a vega-lite spec per metric (every run overlaid, one colour per
 * run, stage boundaries as dashed rules), compiled and rendered to a static SVG in Node by vega's
 * headless view (no browser, no script in the page), and SVG to PNG by resvg for figures.
 */
import { Resvg } from "@resvg/resvg-js"
import { Effect } from "effect"
import * as vega from "vega"
import * as vl from "vega-lite"
import * as Curves from "./Curves.ts"
import * as Downsample from "./Downsample.ts"
import { ReportError } from "./ReportError.ts"

// Tableau 10, vega's default categorical palette: distinct in colour and in greyscale lightness; runs beyond 10 reuse it.
export const PALETTE = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"]

export const colourOf = (runIndex: number): string => PALETTE[runIndex % PALETTE.length]!

// Fonts present on Debian with chromium (DejaVu, Liberation) first, so the browser and resvg draw the same text.
export const FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"

// 460 x 200: two charts side by side fit a 1,100 px page; tall enough to read a noisy curve.
const WIDTH = 460
const HEIGHT = 200

// Up to 40 points a series, each point is drawn too: sparse metrics (one eval per iteration) stay visible.
const MAX_POINTS_WITH_MARKS = 40

type Layer = Extract<vl.TopLevelSpec, { readonly layer: unknown }>["layer"][number]

// 120 stage boundaries a run at most (evenly thinned): more dashed lines turn a 460 px chart into a grey wash.
const MAX_RULES = 120

const LABEL_FONT = 9
// DejaVu Sans at 9 px averages ~5.6 px a character; the gap keeps neighbouring labels apart.
const LABEL_CHAR_W = 5.6
const LABEL_GAP = 6
// Three rows of boundary labels at most: below that, crowded short segments (one eval step each) lose theirs.
const LABEL_ROWS = 3
const LABEL_ROW_H = 11

/**
 * Places stage labels at the top of a chart without overlap: left to right, each label takes the first
 * of LABEL_ROWS rows where it clears the previous label; a label that fits in none is dropped (its dashed rule stays).
 */
export const placeLabels = (
  labels: ReadonlyArray<{ readonly x: number; readonly label: string }>,
  domain: readonly [number, number],
  width: number
): ReadonlyArray<{ readonly x: number; readonly label: string; readonly py: number }> => {
  const [lo, hi] = domain
  const px = (x: number) => hi === lo ? 0 : ((x - lo) / (hi - lo)) * width
  const ends = Array.from({ length: LABEL_ROWS }, () => -Infinity)
  const out: Array<{ x: number; label: string; py: number }> = []
  for (const l of [...labels].sort((a, b) => a.x - b.x)) {
    const start = px(l.x)
    const row = ends.findIndex((end) => start >= end)
    if (row < 0) continue
    ends[row] = start + l.label.length * LABEL_CHAR_W + LABEL_GAP
    out.push({ x: l.x, label: l.label, py: row * LABEL_ROW_H })
  }
  return out
}

/** One run's curve of a metric. */
export interface RunSeries {
  readonly run: string
  readonly series: Downsample.Series
  readonly boundaries: ReadonlyArray<Curves.Boundary>
}

/** The vega-lite spec of one metric's chart; `runs` names every run of the report (it fixes the colours). */
export const curveSpec = (metric: string, curves: ReadonlyArray<RunSeries>, runs: ReadonlyArray<string>): vl.TopLevelSpec => {
  const points: Array<{ run: string; x: number; y: number; min: number; max: number }> = []
  let lo = Infinity
  let hi = -Infinity
  let most = 0
  let thinned = false
  for (const c of curves) {
    const ps = c.series.points()
    most = Math.max(most, ps.length)
    if (c.series.stride() > 1) thinned = true
    for (const p of ps) points.push({ run: c.run, x: p.x, y: p.y, min: p.min, max: p.max })
    // The raw x range, not the bucket means: the axis and its stage boundaries cover every logged step.
    const range = c.series.xRange()
    if (range !== undefined) {
      if (range[0] < lo) lo = range[0]
      if (range[1] > hi) hi = range[1]
    }
  }
  // Boundaries inside the metric's x range; a label once per (x, label) however many runs share it.
  const rules: Array<{ run: string; x: number; label: string }> = []
  const labelled = new Set<string>()
  const labels: Array<{ x: number; label: string }> = []
  for (const c of curves) {
    const inside = Downsample.thin<Curves.Boundary>(MAX_RULES)
    for (const b of c.boundaries) if (b.x >= lo && b.x <= hi) inside.push(b)
    for (const b of inside.items()) {
      const label = Curves.boundaryLabel(b)
      rules.push({ run: c.run, x: b.x, label })
      const key = `${b.x}\u0000${label}`
      if (!labelled.has(key)) {
        labelled.add(key)
        labels.push({ x: b.x, label })
      }
    }
  }
  const xDomain: [number, number] = lo === hi ? [lo - 1, hi + 1] : [lo, hi]
  const placed = placeLabels(labels, xDomain, WIDTH)
  const x = { field: "x", type: "quantitative", title: "global step", scale: { domain: xDomain, nice: false, zero: false } } as const
  const present = runs.filter((r) => curves.some((c) => c.run === r))
  const colour = {
    field: "run",
    type: "nominal",
    // Only the runs drawn here in the legend, each in its colour of the whole report.
    scale: { domain: present, range: present.map((r) => colourOf(runs.indexOf(r))) },
    legend: runs.length > 1 ? { orient: "bottom", title: null, labelLimit: 400, direction: "vertical" } : null
  } as const
  const layers: Array<Layer> = []
  if (rules.length > 0) {
    layers.push({
      data: { values: rules },
      mark: { type: "rule", strokeDash: [4, 3], strokeWidth: 1, opacity: 0.55 },
      encoding: { x, color: colour }
    })
    layers.push({
      data: { values: placed },
      mark: { type: "text", align: "left", baseline: "top", dx: 3, dy: 2, fontSize: LABEL_FONT, color: "#666" },
      encoding: { x, y: { field: "py", type: "quantitative", scale: null }, text: { field: "label", type: "nominal" } }
    })
  }
  if (thinned) {
    layers.push({
      data: { values: points },
      mark: { type: "area", opacity: 0.15 },
      encoding: { x, y: { field: "min", type: "quantitative" }, y2: { field: "max" }, color: colour }
    })
  }
  layers.push({
    data: { values: points },
    mark: { type: "line", strokeWidth: 1.5, point: most <= MAX_POINTS_WITH_MARKS ? { size: 18 } : false },
    encoding: { x, y: { field: "y", type: "quantitative", title: null, scale: { zero: false } }, color: colour }
  })
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: metric, anchor: "start", fontSize: 13 },
    width: WIDTH,
    height: HEIGHT,
    background: "white",
    config: { font: FONT, axis: { labelFontSize: 10, titleFontSize: 10, titleFontWeight: "normal" }, view: { stroke: "#ccc" } },
    layer: layers
  }
}

/** Renders a vega-lite spec to a static SVG document, headless (no DOM, no canvas). */
export const toSvg = (spec: vl.TopLevelSpec, name: string): Effect.Effect<string, ReportError> =>
  Effect.tryPromise({
    try: async () => {
      const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none", logLevel: vega.Error })
      const svg = await view.toSVG()
      view.finalize()
      return svg
    },
    catch: (e) => new ReportError({ reason: "Render", path: name, message: `chart ${name}: ${e instanceof Error ? e.message : String(e)}` })
  })

/**
 * Makes an SVG's ids unique inside a page that inlines many SVGs (vega numbers its clip paths from 1 in
 * every view): every `id="X"` becomes `id="<prefix>X"`, and its references `url(#X)` and `href="#X"` follow.
 */
export const scopeIds = (svg: string, prefix: string): string => {
  const ids = new Set<string>()
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) ids.add(m[1]!)
  if (ids.size === 0) return svg
  return svg
    .replace(/(\sid=")([^"]+)"/g, (all, head: string, id: string) => ids.has(id) ? `${head}${prefix}${id}"` : all)
    .replace(/url\(#([^)]+)\)/g, (all, id: string) => ids.has(id) ? `url(#${prefix}${id})` : all)
    .replace(/(href=")#([^"]+)"/g, (all, head: string, id: string) => ids.has(id) ? `${head}#${prefix}${id}"` : all)
}

// 2x: a chart 460 px wide becomes ~1,000 px, sharp in a paper column at print resolution.
const PNG_ZOOM = 2

/** Rasterises an SVG document to PNG bytes (white background, system fonts). */
export const toPng = (svg: string, name: string): Effect.Effect<Uint8Array, ReportError> =>
  Effect.try({
    try: () =>
      new Resvg(svg, {
        fitTo: { mode: "zoom", value: PNG_ZOOM },
        background: "white",
        font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" }
      }).render().asPng(),
    catch: (e) => new ReportError({ reason: "Render", path: name, message: `figure ${name}: ${e instanceof Error ? e.message : String(e)}` })
  })

/** A file name for a chart: `/` becomes `-`, anything but letters, digits, `_ . -` becomes `_`. */
export const figureName = (name: string): string => name.replace(/\//g, "-").replace(/[^A-Za-z0-9_.-]/g, "_")
