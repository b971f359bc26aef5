/**
 * The per-step reward heatmap of sampled trajectories, as a hand-built SVG (vega's static SVG output
 * has no tooltips; native SVG `<title>` elements give them without any script):
 * one row per trajectory, one column per step, the cell's colour the agent's step reward
 * (red low, white the centre, blue high), a dot where the agent's action matches the expert's and a
 * cross where it differs. Hovering a cell shows the expert's and the agent's action.
 */
import * as Markup from "./Markup.ts"
import type * as RunDir from "./RunDir.ts"

export interface Row {
  /** Short text at the left of the row. */
  readonly label: string
  /** Full description, shown when hovering the label and at the top of every cell's tooltip. */
  readonly title: string
  readonly steps: ReadonlyArray<RunDir.StepReward>
}

// Wide enough for "stepagent-implicit 12 · train:1234"; longer labels are clipped (full text in the tooltip).
const LABEL_CHARS = 34
const LABEL_W = 230
const CELL_W = 22
const CELL_H = 18
const TOP = 34
const LEGEND_H = 56
const PAD = 8
// 60 columns: a heatmap ~1.5k px wide (it scrolls); environments cap episodes below that (house: 50 steps).
export const MAX_COLUMNS = 60

// ColorBrewer RdBu (7 classes), low to high: red where the agent's action earned a low reward, blue a high one.
const STOPS = ["#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac"]

const hex = (c: string): ReadonlyArray<number> => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16))

/** Colour of t in [-1, 1] on the diverging scale (piecewise linear between the stops). */
export const colour = (t: number): string => {
  const u = (Math.min(1, Math.max(-1, Number.isFinite(t) ? t : 0)) + 1) / 2 * (STOPS.length - 1)
  const i = Math.min(STOPS.length - 2, Math.floor(u))
  const f = u - i
  const a = hex(STOPS[i]!)
  const b = hex(STOPS[i + 1]!)
  return `#${[0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f).toString(16).padStart(2, "0")).join("")}`
}

/** The colour scale of a set of rewards: centred on 0 when they straddle it, else on the middle of their range. */
export interface Scale {
  readonly lo: number
  readonly mid: number
  readonly hi: number
}

export const scaleOf = (rewards: Iterable<number>): Scale => {
  let lo = Infinity
  let hi = -Infinity
  for (const r of rewards) {
    if (r < lo) lo = r
    if (r > hi) hi = r
  }
  if (lo === Infinity) return { lo: 0, mid: 0, hi: 0 }
  return { lo, mid: lo < 0 && hi > 0 ? 0 : (lo + hi) / 2, hi }
}

/** Position of a reward on the scale, in [-1, 1] (0 at the centre). */
export const position = (s: Scale, r: number): number =>
  r < s.mid ? (s.mid > s.lo ? (r - s.mid) / (s.mid - s.lo) : 0) : (s.hi > s.mid ? (r - s.mid) / (s.hi - s.mid) : 0)

const fmt = (x: number): string => {
  if (x === 0) return "0"
  const a = Math.abs(x)
  return a >= 1000 || a < 0.001 ? x.toExponential(2) : Number(x.toPrecision(3)).toString()
}

const cellTitle = (row: Row, s: RunDir.StepReward): string =>
  [
    row.title,
    `step ${s.step}: agent reward ${fmt(s.agentReward)}${s.expertReward === undefined ? "" : ` (expert ${fmt(s.expertReward)})`}, ${s.match ? "matches the expert" : "differs from the expert"}`,
    `expert: ${s.expert}`,
    `agent:  ${s.agent}`
  ].join("\n")

export interface Svg {
  readonly svg: string
  readonly width: number
  readonly height: number
}

/** The heatmap of `rows` as a standalone SVG document (also valid inline in HTML). */
export const render = (rows: ReadonlyArray<Row>, title: string): Svg => {
  const columns = Math.min(MAX_COLUMNS, Math.max(1, ...rows.map((r) => r.steps.length)))
  const scale = scaleOf(rows.flatMap((r) => r.steps.map((s) => s.agentReward)))
  const gridW = columns * CELL_W
  const width = Math.max(LABEL_W + gridW + PAD * 2, 520)
  const height = TOP + rows.length * CELL_H + LEGEND_H
  const out: Array<string> = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">`)
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`)
  out.push(`<text x="${PAD}" y="14" font-size="12" font-weight="bold">${Markup.escape(title)}</text>`)
  // Step numbers over the columns (every 5th when crowded).
  const every = columns > 30 ? 5 : 1
  for (let c = 0; c < columns; c++) {
    if (c % every !== 0) continue
    out.push(`<text x="${LABEL_W + c * CELL_W + CELL_W / 2}" y="${TOP - 4}" font-size="9" text-anchor="middle" fill="#555">${c}</text>`)
  }
  rows.forEach((row, r) => {
    const y = TOP + r * CELL_H
    out.push(`<text class="row-label" x="${LABEL_W - 6}" y="${y + CELL_H - 4}" font-size="10" text-anchor="end" fill="#222"><title>${Markup.escape(row.title)}</title>${Markup.escape(Markup.clip(row.label, LABEL_CHARS))}</text>`)
    row.steps.slice(0, columns).forEach((s, c) => {
      const x = LABEL_W + c * CELL_W
      const t = position(scale, s.agentReward)
      const ink = Math.abs(t) > 0.6 ? "#ffffff" : "#222222"
      out.push(`<g class="cell" data-match="${s.match}"><rect x="${x}" y="${y}" width="${CELL_W - 1}" height="${CELL_H - 1}" fill="${colour(t)}"><title>${Markup.escape(cellTitle(row, s))}</title></rect>`)
      const cx = x + (CELL_W - 1) / 2
      const cy = y + (CELL_H - 1) / 2
      out.push(
        s.match
          ? `<circle cx="${cx}" cy="${cy}" r="2" fill="${ink}" pointer-events="none"/></g>`
          : `<path d="M${cx - 3.5},${cy - 3.5}L${cx + 3.5},${cy + 3.5}M${cx - 3.5},${cy + 3.5}L${cx + 3.5},${cy - 3.5}" stroke="${ink}" stroke-width="1.4" pointer-events="none"/></g>`
      )
    })
  })
  // Legend: the colour ramp with its end and centre values, then the two markers.
  const ly = TOP + rows.length * CELL_H + 14
  const rampW = 200
  const pieces = 40
  out.push(`<text x="${PAD}" y="${ly + 9}" font-size="10" fill="#222">agent reward</text>`)
  for (let i = 0; i < pieces; i++) {
    const t = -1 + (2 * (i + 0.5)) / pieces
    out.push(`<rect x="${90 + (i * rampW) / pieces}" y="${ly}" width="${rampW / pieces + 0.5}" height="10" fill="${colour(t)}"/>`)
  }
  const labels: ReadonlyArray<readonly [number, number, string]> = [[scale.lo, 90, "start"], [scale.mid, 90 + rampW / 2, "middle"], [scale.hi, 90 + rampW, "end"]]
  for (const [v, x, anchor] of labels) out.push(`<text x="${x}" y="${ly + 22}" font-size="9" text-anchor="${anchor}" fill="#555">${fmt(v)}</text>`)
  const mx = 90 + rampW + 24
  out.push(`<circle cx="${mx}" cy="${ly + 5}" r="2" fill="#222"/><text x="${mx + 7}" y="${ly + 9}" font-size="10" fill="#222">matches the expert</text>`)
  out.push(`<path d="M${mx + 117},${ly + 1.5}L${mx + 124},${ly + 8.5}M${mx + 117},${ly + 8.5}L${mx + 124},${ly + 1.5}" stroke="#222" stroke-width="1.4"/><text x="${mx + 130}" y="${ly + 9}" font-size="10" fill="#222">differs</text>`)
  out.push(`</svg>`)
  return { svg: out.join(""), width, height }
}

/** The heatmap rows of sampled trajectories: label `stage iteration · taskId`. */
export const rowsOf = (samples: ReadonlyArray<RunDir.SampledTrajectory>): ReadonlyArray<Row> =>
  samples.map((t) => ({
    label: `${t.iteration === 0 ? t.stage : `${t.stage} ${t.iteration}`} · ${t.taskId}`,
    title: `${t.trajectoryId} · task ${t.taskId} (${t.env}) · ${t.stage} iteration ${t.iteration}`,
    steps: t.steps
  }))
