/**
 * The fuzz suite's checks, shared by test/data/Fuzz.test.ts (small) and test/bench/Fuzz.bench.ts
 * (10,000+ hostile records per format): an import of hostile and valid records must account for every
 * record (read = written + rejected, one rejects line per reject, each with an index and a reason) and
 * give back every valid record whole.
 */
import * as NodeFs from "node:fs"
import { Effect } from "effect"
import * as Export from "../../src/data/Export.ts"
import type * as Hostile from "./Hostile.ts"

export interface Summary {
  readonly read: number
  readonly written: number
  readonly rejected: number
  readonly rejects: string
  readonly warnings: number
}

export interface Verdict {
  readonly entries: number
  readonly hostile: number
  readonly valid: number
  readonly read: number
  readonly written: number
  readonly rejected: number
  readonly warnings: number
  /** Valid records missing from the output or changed in it. */
  readonly validLost: number
  /** What went wrong, for a failing check (empty when all held). */
  readonly problems: ReadonlyArray<string>
}

const readJsonl = (path: string): Array<unknown> =>
  NodeFs.readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as unknown)

/** Checks an import's summary and files against the entries that went in. */
export const check = (
  list: ReadonlyArray<Hostile.Entry>,
  format: Hostile.Format,
  summary: Summary,
  out: string,
  back: string
) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    if (summary.read !== summary.written + summary.rejected) problems.push(`read ${summary.read} != written ${summary.written} + rejected ${summary.rejected}`)
    const rejects = readJsonl(summary.rejects) as Array<{ index?: unknown; reason?: unknown }>
    if (rejects.length !== summary.rejected) problems.push(`${rejects.length} lines in the rejects file, ${summary.rejected} rejected`)
    let last = -1
    for (const r of rejects) {
      if (typeof r.index !== "number" || !Number.isInteger(r.index) || r.index <= last) problems.push(`bad reject index ${JSON.stringify(r.index)}`)
      else last = r.index
      if (typeof r.reason !== "string" || r.reason === "") problems.push(`reject ${String(r.index)} without a reason`)
    }
    yield* Export.exportFile({ input: out, format, out: back, layout: "jsonl" })
    const key = format === "eto" ? "id" : "item_id"
    const exported = new Map<string, string>()
    for (const r of readJsonl(back) as Array<Record<string, unknown>>) exported.set(String(r[key]), JSON.stringify(r))
    const valid = list.filter((e) => e.kind === "valid")
    let validLost = 0
    for (const e of valid) {
      const id = String(e.record![key])
      if (exported.get(id) !== JSON.stringify(e.record)) {
        validLost++
        if (validLost <= 3) problems.push(`valid record ${id} ${exported.has(id) ? "changed" : "lost"}`)
      }
    }
    const verdict: Verdict = {
      entries: list.length,
      hostile: list.length - valid.length,
      valid: valid.length,
      read: summary.read,
      written: summary.written,
      rejected: summary.rejected,
      warnings: summary.warnings,
      validLost,
      problems: problems.slice(0, 10)
    }
    return verdict
  })
