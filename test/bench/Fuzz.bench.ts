/**
 * `fuzz` (issue 12): the importers under at least 10,000 hostile records per format and layout, mixed
 * with valid ones (test/data/Hostile.ts, seeded), each file imported by the real CLI in a child process.
 * Reported per format and layout: records tried, hostile and valid counts, the import's counts, valid
 * records lost or changed (must be 0), crashes (a non-zero exit or a stack trace; must be 0), the
 * child's peak RSS and wall seconds. `npm test` runs the same checks at 300 records (test/data/Fuzz.test.ts).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import * as FuzzCheck from "../data/FuzzCheck.ts"
import * as Hostile from "../data/Hostile.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const node = path.join(root, "node_modules/.bin/node")
const bin = path.join(root, "bin/stepagent.ts")

// 14,000 records at 75% hostile: about 10,500 hostile per file, over the 10,000 the issue asks for.
const records = 14_000
// 64 KiB: the generator's huge strings (70 KB) go over it, so the size limit is exercised too.
const maxRecordBytes = 64 * 1024
// The child reports its own peak RSS on exit (a data: URL preload, no file and no /usr/bin/time needed).
const rssPreload = `data:text/javascript,process.on("exit",()=>process.stderr.write("maxrss_kb "+process.resourceUsage().maxRSS+"\\n"))`

const one = async (dir: string, format: Hostile.Format, layout: Hostile.Layout, seed: number) => {
  const list = Hostile.entries(format, records, seed)
  const input = path.join(dir, `${format}.${layout}`)
  fs.writeFileSync(input, Hostile.fileBytes(list, layout))
  const out = path.join(dir, `${format}-${layout}.arrows`)
  const t0 = performance.now()
  const r = spawnSync(node, ["--import", rssPreload, bin, "data", "import", input, "--format", format, "--env", "webshop", "--out", out, "--max-record-bytes", String(maxRecordBytes)], {
    encoding: "utf8",
    cwd: root,
    maxBuffer: 1 << 24
  })
  const seconds = (performance.now() - t0) / 1000
  const stderr = r.stderr.replace(/maxrss_kb \d+\n?/, "")
  const crashed = r.status !== 0 || /\n\s+at /.test(stderr) || /internal error/.test(stderr)
  const rssKb = Number(/maxrss_kb (\d+)/.exec(r.stderr)?.[1] ?? "NaN")
  if (crashed) return { format, layout, crashed: true as const, exitCode: r.status, stderr: stderr.slice(0, 500) }
  const summary = JSON.parse(r.stdout) as FuzzCheck.Summary
  const verdict = await Effect.runPromise(FuzzCheck.check(list, format, summary, out, path.join(dir, `${format}-${layout}.back.jsonl`)))
  const kinds = new Set(list.filter((e) => e.kind === "hostile").map((e) => e.what))
  return { ...verdict, exitCode: r.status, crashed: false as const, hostileKinds: kinds.size, peakRssMb: Math.round(rssKb / 1024), seconds: Number(seconds.toFixed(2)), fileMb: Number((fs.statSync(input).size / 2 ** 20).toFixed(1)) }
}

const fuzz = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stepagent-bench-fuzz-"))
  try {
    const results: Record<string, Record<string, unknown>> = {}
    let hostile = 0
    let lost = 0
    let crashes = 0
    for (const format of ["eto", "agentgym"] as const) {
      results[format] = {}
      for (const layout of ["json", "jsonl"] as const) {
        process.stderr.write(`bench: fuzz ${format} ${layout}...\n`)
        const r = await one(dir, format, layout, format === "eto" ? 7001 : 7002)
        results[format]![layout] = r
        if (r.crashed) crashes++
        else {
          hostile += r.hostile
          // A count that does not add up (a problem other than lost records) counts as one loss.
          lost += r.validLost + (r.problems.length > 0 && r.validLost === 0 ? 1 : 0)
        }
      }
    }
    return { ...results, total: { hostile, crashes, validLostOrUncounted: lost }, met: { crashes: crashes === 0, nothingLost: lost === 0 } }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

export const entries: Record<string, () => Promise<unknown>> = { fuzz }
