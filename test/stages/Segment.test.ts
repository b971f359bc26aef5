import { expect, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import { EOA } from "../../src/data/Tokenizer.ts"
import * as Segment from "../../src/stages/Segment.ts"
import * as World from "./World.ts"

layer(World.layerSignals({ train: 24, heldOut: 4 }))("segment", (it) => {
  it.effect("cuts after every expert action: one view per step, in order, sharing the trajectory's buffer", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const segs = yield* Stream.runCollect(Segment.segment(Stream.fromIterable(world.train.slice(0, 3))))
      expect(segs.length).toBe(world.train.slice(0, 3).reduce((n, t) => n + Tokenized.stepCount(t), 0))
      let k = 0
      for (const t of world.train.slice(0, 3)) {
        for (let i = 0; i < Tokenized.stepCount(t); i++, k++) {
          expect(segs[k]!.trajectory).toBe(t)
          expect(segs[k]!.step).toBe(i)
          const a = Segment.expertAction(segs[k]!)
          expect(a.buffer).toBe(t.tokens.buffer) // a view, not a copy
          expect(a[a.length - 1]).toBe(EOA)
        }
      }
    }))
})
