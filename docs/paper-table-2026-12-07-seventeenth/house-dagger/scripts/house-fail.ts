import { readFileSync } from "node:fs"
import { tableFromIPC } from "apache-arrow"
// house evaluation episodes: where "Nothing happens." first comes, how many steps repeat the previous action
const t = tableFromIPC(readFileSync(process.argv[2]!))
let n = 0, withNothing = 0, steps = 0, nothing = 0, repeats = 0
const firstAt: Array<number> = []
for (const r of t.toArray()) {
  const o = r.toJSON() as any
  n++
  const ss = o.steps.toArray().map((s: any) => s.toJSON())
  const obs = ss.map((s: any) => String(s.observation ?? ""))
  const acts = ss.map((s: any) => String(s.action ?? ""))
  steps += ss.length
  const k = obs.findIndex((x: string) => x.startsWith("Nothing happens"))
  if (k >= 0) { withNothing++; firstAt.push(k) }
  nothing += obs.filter((x: string) => x.startsWith("Nothing happens")).length
  repeats += acts.filter((a: string, i: number) => i > 0 && a === acts[i - 1]).length
}
firstAt.sort((a, b) => a - b)
console.log(JSON.stringify({ n, withNothing, medianFirstNothingStep: firstAt[Math.floor(firstAt.length / 2)], nothingFrac: nothing / steps, repeatFrac: repeats / steps, steps }))
