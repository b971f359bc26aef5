import { readFileSync } from "node:fs"
import { tableFromIPC } from "apache-arrow"
// per run: successes' longest run of identical (action, next observation); failures' step where a run of N such begins
const N = Number(process.env.N ?? 5)
let succMax = 0, steps = 0, saved = 0, succ = 0, eps = 0
const succRuns = new Map<number, number>()
for (const f of process.argv.slice(2)) {
  const rows = tableFromIPC(readFileSync(f)).toArray().map((r) => r.toJSON() as any)
  for (const o of rows) {
    eps++
    const ss = o.steps.toArray().map((s: any) => s.toJSON())
    const key = ss.map((s: any, i: number) => String(s.action) + "\u0000" + String(ss[i + 1]?.observation ?? o.finalObservation ?? ""))
    let best = 1, cur = 1, at = -1
    for (let i = 1; i < key.length; i++) {
      cur = key[i] === key[i - 1] ? cur + 1 : 1
      if (cur > best) best = cur
      if (cur === N && at < 0) at = i
    }
    steps += key.length
    if (o.success) { succ++; succMax = Math.max(succMax, best); succRuns.set(best, (succRuns.get(best) ?? 0) + 1) }
    else if (at >= 0) saved += key.length - (at + 1)
  }
}
console.log(JSON.stringify({ N, episodes: eps, successes: succ, successLongestRepeat: succMax, successRepeatHist: Object.fromEntries([...succRuns].sort((a, b) => a[0] - b[0])), steps, savedSteps: saved, savedFrac: +(saved / steps).toFixed(3) }))
