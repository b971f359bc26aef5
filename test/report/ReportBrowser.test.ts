/**
 * Opens a generated report in a real headless browser (Debian's chromium driven by playwright-core)
 * with the network blocked: the charts must render (SVG with marks, non-zero size), the heatmap must be
 * there with its tooltips, action text must show as text (never run), and the page must ask for nothing
 * but itself. Skipped when /usr/bin/chromium is absent (`.ci/run` installs it: `apt-get install chromium`).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { BrowserContext } from "playwright-core"
import * as Report from "../../src/report/Report.ts"

const CHROMIUM = "/usr/bin/chromium"
const hasChromium = fs.existsSync(CHROMIUM)
if (!hasChromium) console.warn(`ReportBrowser.test.ts: skipped, ${CHROMIUM} is absent (apt-get install -y chromium)`)

const fixtures = path.join(import.meta.dirname, "..", "fixtures", "runs")
const runs = [path.join(fixtures, "sft-shop__1__20261123T120000Z"), path.join(fixtures, "stepagent-implicit-shop__1__20261123T130000Z")]
// Where a screenshot of the page is left for a human to look at.
const SCREENSHOT = path.join(os.tmpdir(), "stepagent-report.png")

describe.skipIf(!hasChromium)("report in a headless browser (chromium)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-browser-"))
  const out = path.join(dir, "report.html")
  let context: BrowserContext | undefined
  let metrics = 0
  let steps = 0

  beforeAll(async () => {
    // A suite hook, not an Effect test: the report is built once, and the test drives the browser through promises.
    const loaded = await Effect.runPromise(Effect.gen(function*() {
      yield* Report.write(runs, { out })
      return yield* Report.load(runs)
    }).pipe(Effect.provide(NodeFileSystem.layer)))
    metrics = Report.metricGroups(loaded).reduce((n, [, ms]) => n + ms.length, 0)
    steps = loaded.reduce((n, r) => n + (r.samples?.rows ?? []).reduce((k, t) => k + t.steps.length, 0), 0)
    const { chromium } = await import("playwright-core")
    context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), "chromium-profile-")), {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1200, height: 900 }
    })
  })

  afterAll(async () => {
    await context?.close()
  })

  it("renders every chart and the heatmap offline, asking for nothing but the file", async () => {
    const page = await context!.newPage()
    const url = pathToFileURL(out).href
    const requested: Array<string> = []
    const blocked: Array<string> = []
    const dialogs: Array<string> = []
    page.on("request", (r) => void requested.push(r.url()))
    page.on("dialog", (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    await page.route("**/*", (route) => {
      if (route.request().url() === url) return route.continue()
      blocked.push(route.request().url())
      return route.abort()
    })
    await page.goto(url, { waitUntil: "load" })

    // Every metric has a chart whose SVG has a size and drawn marks (a line path with geometry).
    const curves = await page.$$eval("figure.curve", (figs) =>
      figs.map((f) => {
        const svg = f.querySelector("svg")
        const box = svg?.getBoundingClientRect()
        const lines = [...f.querySelectorAll("g.mark-line path, g.mark-symbol path")].filter((p) => (p.getAttribute("d") ?? "").length > 4)
        const extent = Math.max(0, ...lines.map((p) => {
          const b = p.getBoundingClientRect()
          return b.width + b.height
        }))
        return { name: f.getAttribute("data-chart"), w: box?.width ?? 0, h: box?.height ?? 0, marks: lines.length, extent }
      })
    )
    assert.strictEqual(curves.length, metrics)
    assert.isAbove(metrics, 10)
    for (const c of curves) {
      assert.isAbove(c.w, 100, `${c.name} width`)
      assert.isAbove(c.h, 100, `${c.name} height`)
      assert.isAbove(c.marks, 0, `${c.name} marks`)
      assert.isAbove(c.extent, 2, `${c.name} mark size`)
    }

    // The heatmap: one cell per sampled step, coloured, with the expert's and the agent's action in its tooltip.
    const cells = await page.$$eval("figure.heatmap g.cell rect", (rects) =>
      rects.map((r) => ({ fill: r.getAttribute("fill"), w: r.getBoundingClientRect().width, title: r.querySelector("title")?.textContent ?? "" }))
    )
    assert.strictEqual(cells.length, steps)
    for (const c of cells) {
      assert.match(c.fill ?? "", /^#[0-9a-f]{6}$/)
      assert.isAbove(c.w, 5)
      assert.match(c.title, /\nexpert: .+\nagent: {2}.+/)
    }
    // Action text with markup is shown as text: no script element, no alert, the literal text is visible.
    assert.strictEqual(await page.locator("script").count(), 0)
    assert.isTrue(cells.some((c) => c.title.includes("<script>alert(\"x\")</script>")))
    const tableText = await page.$eval("table.actions", (t) => t.textContent ?? "")
    assert.include(tableText, "click[<script>alert(\"x\")</script>]")
    assert.include(tableText, "click[large & 'tall']")
    assert.deepStrictEqual(dialogs, [])

    // The evaluation table shows both runs.
    const evalRows = await page.$$eval("table.eval tbody tr", (rows) => rows.map((r) => r.textContent ?? ""))
    assert.strictEqual(evalRows.length, 2)
    assert.include(evalRows[1]!, "40.0%")

    // Offline: the only request was the page itself; nothing had to be blocked.
    assert.deepStrictEqual(blocked, [])
    assert.deepStrictEqual(requested, [url])

    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    await page.close()
  })
})
