import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Import from "../../src/data/Import.ts"
import * as FuzzCheck from "./FuzzCheck.ts"
import * as Hostile from "./Hostile.ts"

// The small fuzz run of `npm test`; `npm run bench -- --only fuzz` runs 10,000+ hostile records per format.
const root = NodePath.resolve(import.meta.dirname, "../..")
const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "fuzz-"))
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))

// 64 KiB: the generator's huge strings (70 KB) go over it; every other record stays under.
const maxRecordBytes = 64 * 1024

describe("importers under hostile input (fuzz, seeded)", () => {
  for (const format of ["eto", "agentgym"] as const) {
    for (const layout of ["json", "jsonl"] as const) {
      it.effect(`${format} ${layout}: every record accounted for, every valid record back whole`, () =>
        Effect.gen(function*() {
          const list = Hostile.entries(format, 300, format === "eto" ? 11 : 12)
          const input = NodePath.join(dir, `${format}.${layout}`)
          NodeFs.writeFileSync(input, Hostile.fileBytes(list, layout))
          const out = NodePath.join(dir, `${format}-${layout}.arrows`)
          const summary = yield* Import.importFile({ input, format, env: "webshop", out, maxRecordBytes })
          const verdict = yield* FuzzCheck.check(list, format, summary, out, NodePath.join(dir, `${format}-${layout}.back.jsonl`))
          expect(verdict.problems).toEqual([])
          expect(verdict.validLost).toBe(0)
          expect(verdict.hostile).toBeGreaterThan(150)
          expect(summary.rejected).toBeGreaterThan(verdict.hostile / 2)
        }))
    }

    it(`${format}: the CLI exits 0 on a hostile file, printing its summary and at most the warning line`, () => {
      const list = Hostile.entries(format, 200, 21)
      const input = NodePath.join(dir, `${format}-cli.json`)
      NodeFs.writeFileSync(input, Hostile.fileBytes(list, "json"))
      const r = NodeChild.spawnSync(NodePath.join(root, "node_modules/.bin/node"), [
        NodePath.join(root, "bin/stepagent.ts"), "data", "import", input, "--format", format, "--env", "webshop",
        "--out", NodePath.join(dir, `${format}-cli.arrows`), "--max-record-bytes", String(maxRecordBytes)
      ], { encoding: "utf8", cwd: root })
      expect(r.status).toBe(0)
      const summary = JSON.parse(r.stdout) as FuzzCheck.Summary
      expect(summary.read).toBe(summary.written + summary.rejected)
      expect(r.stderr === "" || /^stepagent: warning: \d+ records? /.test(r.stderr)).toBe(true)
      expect(r.stderr.trim().split("\n").length).toBeLessThanOrEqual(1)
    })
  }
})
