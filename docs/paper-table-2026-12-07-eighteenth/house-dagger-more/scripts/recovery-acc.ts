// diagnostic: greedy action accuracy of a house checkpoint at held-out expert states (on the expert's path) and at the
// states right after a deliberate mistake (the previous action repeated: "Nothing happens."), test tasks 0-N
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as PolicyCheckpoint from "../../../../src/cli/PolicyCheckpoint.ts"
import * as Expert from "../../../../src/env/Expert.ts"
import * as Relabel from "../../../../src/env/Relabel.ts"
import { readFileSync } from "node:fs"
import { tableFromIPC } from "apache-arrow"
import * as House from "../../../../src/env/house/House.ts"
import type { Trajectory } from "../../../../src/domain/Trajectory.ts"
import * as Backend from "../../../../src/model/backend/Backend.ts"
import * as ActionAccuracy from "../../../../src/stages/ActionAccuracy.ts"
import * as Models from "../../../../src/stages/Models.ts"

const [checkpoint, nArg, episodesPath] = process.argv.slice(2)
const n = Number(nArg ?? 100)
const sim = House.make({ seed: 0 })
const onlyAfterMistakes = (t: Trajectory): Trajectory => {
  const turns = 2 + 2 * t.steps.length + (t.finalObservation === undefined ? 0 : 1)
  const flags = t.turnLoss ?? Array.from({ length: turns }, () => null)
  const out = flags.map(() => false as boolean | null)
  let k = 0
  t.steps.forEach((_, i) => {
    if (i > 0 && flags[3 + 2 * (i - 1)] === false && flags[3 + 2 * i] !== false) { out[3 + 2 * i] = true; k++ }
  })
  return { ...t, turnLoss: out }
}
const program = Effect.gen(function*() {
  const loaded = yield* PolicyCheckpoint.load(checkpoint!)
  const drop = (t: Trajectory): Trajectory => loaded.instruction === "drop" ? { ...t, instruction: "" } : t
  const ids = Array.from({ length: n }, (_, i) => `test:${i}`)
  const plain = ids.map((id) => drop(Expert.trajectory(sim, id, { thoughts: false, seed: 0 })))
  const out: Record<string, unknown> = {}
  yield* Effect.gen(function*() {
  for (const kind of [] as const) {
    const withMistakes = ids.map((id) => drop(onlyAfterMistakes(Expert.trajectory(sim, id, { thoughts: false, seed: 0, recoveries: 0.3, recoveryKinds: [kind] }))))
    out[kind] = yield* ActionAccuracy.actionAccuracy(withMistakes)
  }
  if (episodesPath !== undefined) {
    // the policy's own mistakes: its evaluated test episodes, each cut (first 3) a state where only the expert's label is a target
    const rows = tableFromIPC(readFileSync(episodesPath)).toArray().map((r) => r.toJSON() as { taskId: string; success: boolean; steps: { toArray(): Array<{ toJSON(): { action: string } }> } })
    for (const c of [0, 1, 2]) {
      const cutTrajs: Array<Trajectory> = []
      for (const r of rows.slice(0, n)) {
        if (r.success) continue
        const actions = r.steps.toArray().map((s) => String(s.toJSON().action ?? "").trim())
        const labels = Relabel.labels(sim, r.taskId, actions)
        const cuts = Relabel.cuts(actions, labels, 3)
        if (cuts.length <= c) continue
        const t = Relabel.relabel(sim, r.taskId, actions, { cuts: 3, id: "d" })[c]!
        const turns = 2 + 2 * t.steps.length + (t.finalObservation === undefined ? 0 : 1)
        const flags = Array.from({ length: turns }, (_, k) => k === 3 + 2 * cuts[c]! ? true : false)
        cutTrajs.push(drop({ ...t, turnLoss: flags }))
      }
      out[`cut${c + 1}`] = yield* ActionAccuracy.actionAccuracy(cutTrajs)
    }
  }
  out["onPathTrainSeen"] = yield* ActionAccuracy.actionAccuracy(Array.from({ length: n }, (_, i) => drop(Expert.trajectory(sim, `train:${100 + i}`, { thoughts: false, seed: 0 }))))
  out["onPathTrainUnseen"] = yield* ActionAccuracy.actionAccuracy(Array.from({ length: n }, (_, i) => drop(Expert.trajectory(sim, `train:${i}`, { thoughts: false, seed: 0 }))))
  out["onPath"] = yield* ActionAccuracy.actionAccuracy(plain)
  }).pipe(Effect.provide(Models.layer({ tokenizer: loaded.tokenizer, models: { policy: { model: loaded.model } } })))
  console.log(checkpoint, JSON.stringify(out))
})
Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(NodeFileSystem.layer, Backend.layer({ threads: 1 }))))).catch((e) => { console.error(e); process.exit(1) })
