import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { EOA } from "../../src/data/Tokenizer.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Scoring from "../../src/stages/Scoring.ts"
import * as Segment from "../../src/stages/Segment.ts"
import * as World from "./World.ts"

layer(World.layerSignals({ train: 12, heldOut: 2 }))("scoring heads", (it) => {
  it.effect("tokenLogp: each request's per-token log-probs, whose sums are logp's to the bit", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const m = World.fresh(world, 7)
      const wrong = Int32Array.from([...world.tokenizer.encode("press 9 now"), EOA])
      // every state of the first trajectories: the expert's action (no `action`) and an agent action of another length
      const requests = world.train.slice(0, 6).flatMap(Segment.all).flatMap((s) => [
        { trajectory: s.trajectory, step: s.step },
        { trajectory: s.trajectory, step: s.step, action: wrong }
      ])
      const flat = Scoring.compute(m, "tokenLogp", requests, 8192)
      const { rows, sums } = Scoring.split(flat, requests)
      expect(flat.length).toBe(requests.reduce((n, q) => n + Scoring.actionLength(q), 0))
      expect(Array.from(sums)).toEqual(Array.from(Scoring.compute(m, "logp", requests, 8192)))
      const s = Score.packed(m, requests, { maxTokens: 8192 })
      rows.forEach((row, r) => {
        expect(row.length).toBe(r % 2 === 0 ? Segment.expertAction({ trajectory: requests[r]!.trajectory, step: requests[r]!.step }).length : wrong.length)
        expect(Array.from(row)).toEqual(Array.from(s.logp.subarray(r * s.width, r * s.width + row.length)))
        expect(row.every((x) => x < 0)).toBe(true) // every token is inside the context here: a real log-prob
      })
      Transformer.dispose(m)
    }))
})
