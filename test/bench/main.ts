/**
 * Benchmark runner: `npm run bench --silent -- [--json] [--only NAME[,NAME]] [--list]`.
 * Each file test/bench/*.bench.ts exports `entries`: named async functions returning a JSON value.
 * Prints one JSON object `{ machine, <name>: result, ... }` (with --json, nothing else on stdout);
 * progress goes to stderr.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export type BenchEntry = () => Promise<unknown>

const args = process.argv.slice(2)
const json = args.includes("--json")
const onlyIndex = args.indexOf("--only")
const only = onlyIndex >= 0 ? (args[onlyIndex + 1] ?? "").split(",").filter((s) => s !== "") : undefined

const dir = path.dirname(fileURLToPath(import.meta.url))
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".bench.ts")).sort()
const entries = new Map<string, BenchEntry>()
for (const f of files) {
  const mod = (await import(path.join(dir, f))) as { entries?: Record<string, BenchEntry> }
  for (const [name, fn] of Object.entries(mod.entries ?? {})) entries.set(name, fn)
}
if (args.includes("--list")) {
  console.log([...entries.keys()].join("\n"))
  process.exit(0)
}
if (only !== undefined) {
  const unknown = only.filter((n) => !entries.has(n))
  if (unknown.length > 0) {
    console.error(`bench: unknown entry ${unknown.join(", ")}; known: ${[...entries.keys()].join(", ")}`)
    process.exit(2)
  }
}
const out: Record<string, unknown> = {
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", node: process.version, platform: `${os.platform()}-${os.arch()}` }
}
for (const [name, fn] of entries) {
  if (only !== undefined && !only.includes(name)) continue
  process.stderr.write(`bench: ${name}...\n`)
  const t0 = performance.now()
  try {
    out[name] = await fn()
  } catch (e) {
    out[name] = { error: e instanceof Error ? e.message : String(e) }
    process.stderr.write(`bench: ${name} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  }
  process.stderr.write(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
  if (!json) console.log(name, JSON.stringify(out[name]))
}
if (json) console.log(JSON.stringify(out, null, 2))
