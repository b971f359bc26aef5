import { readFileSync } from "node:fs"
import { tableFromIPC } from "apache-arrow"
// house failures: the action before the first "Nothing happens." (by verb), the longest run of one repeated action, and
// whether the episode had found the task's object (a "take" that worked)
const t = tableFromIPC(readFileSync(process.argv[2]!))
const rows = t.toArray().map((r) => r.toJSON() as any).filter((o) => !o.success)
const firstBad = new Map<string, number>()
let stuck = 0, noNothing = 0, tookSomething = 0
const runHist = new Map<string, number>()
for (const o of rows) {
  const ss = o.steps.toArray().map((s: any) => s.toJSON())
  const acts: Array<string> = ss.map((s: any) => String(s.action ?? ""))
  const obsAfter = (i: number) => String(ss[i + 1]?.observation ?? o.finalObservation ?? "")
  const k = acts.findIndex((_, i) => obsAfter(i).startsWith("Nothing happens"))
  if (k < 0) noNothing++
  else {
    const verb = acts[k]!.split(" ")[0]!
    firstBad.set(verb, (firstBad.get(verb) ?? 0) + 1)
  }
  let best = 1, cur = 1
  for (let i = 1; i < acts.length; i++) { cur = acts[i] === acts[i - 1] ? cur + 1 : 1; best = Math.max(best, cur) }
  if (best >= 10) stuck++
  const b = best >= 20 ? ">=20" : best >= 10 ? "10-19" : best >= 5 ? "5-9" : best >= 2 ? "2-4" : "1"
  runHist.set(b, (runHist.get(b) ?? 0) + 1)
  if (acts.some((a, i) => a.startsWith("take ") && obsAfter(i).startsWith("You pick up"))) tookSomething++
}
console.log(JSON.stringify({ fails: rows.length, noNothing, firstBadVerb: Object.fromEntries(firstBad), longestRepeat: Object.fromEntries(runHist), stuck10: stuck, tookSomething }))
