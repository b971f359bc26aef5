import { readFileSync } from "node:fs"
import { tableFromIPC } from "apache-arrow"
import * as House from "../../../../src/env/house/House.ts"
// first divergence of each evaluated house episode from the expert's plan: the expert's verb there, what the agent did
const sim = House.make({ seed: 0 })
const t = tableFromIPC(readFileSync(process.argv[2]!))
const verb = (a: string) => a.split(" ")[0] + (a.startsWith("go to") ? "" : "")
const counts = new Map<string, number>()
const agentKind = new Map<string, number>()
const pos: number[] = []
let n = 0, matchedAll = 0
for (const r of t.toArray()) {
  const o = r.toJSON() as any
  const ss = o.steps.toArray().map((s: any) => s.toJSON())
  const acts: string[] = ss.map((s: any) => String(s.action ?? "").trim())
  const exp = sim.expert(o.taskId)
  n++
  const k = exp.findIndex((a, i) => acts[i] !== a)
  if (k < 0) { matchedAll++; continue }
  pos.push(k)
  const e = exp[k]!
  // is this a "search" go to (next receptacle to look at) or a purposeful one: crude: go to of expert
  const key = `${verb(e)}${k === 0 ? "@0" : ""}`
  counts.set(key, (counts.get(key) ?? 0) + 1)
  const a = acts[k] ?? ""
  const kind = k > 0 && a === acts[k - 1] ? "repeat-prev" : acts.slice(0, k).includes(a) ? "repeat-earlier" : verb(a) === verb(e) ? "same-verb-other-arg" : "other-verb"
  agentKind.set(kind, (agentKind.get(kind) ?? 0) + 1)
}
pos.sort((a, b) => a - b)
console.log({ n, matchedAll, medianFirstDiv: pos[pos.length >> 1] })
console.log([...counts].sort((a, b) => b[1] - a[1]))
console.log([...agentKind].sort((a, b) => b[1] - a[1]))
