import { readFileSync } from "node:fs"
import { tableFromIPC } from "apache-arrow"
import * as House from "../../../../src/env/house/House.ts"
// house evaluation episodes: successes that followed the expert's plan exactly, and those that left it and still succeeded
const sim = House.make({ seed: 0 })
let n = 0, onPlan = 0, recovered = 0, success = 0
for (const r of tableFromIPC(readFileSync(process.argv[2]!)).toArray()) {
  const o = r.toJSON() as any
  const acts: string[] = o.steps.toArray().map((s: any) => String(s.toJSON().action ?? "").trim())
  const exp = sim.expert(o.taskId)
  n++
  if (!o.success) continue
  success++
  if (acts.length === exp.length && acts.every((a, i) => a === exp[i])) onPlan++
  else recovered++
}
console.log(JSON.stringify({ n, success, onPlan, offPlan: recovered }))
