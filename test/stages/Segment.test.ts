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
  it.effect("expertPrefix: the leading tokens of an action that repeat the expert's action there", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const seg = (yield* Stream.runCollect(Segment.segment(Stream.fromIterable(world.train.slice(0, 1)))))[0]!
      const expert = Segment.expertAction(seg)
      expect(Segment.expertPrefix(seg, Int32Array.from(expert))).toBe(expert.length) // the expert's own action
      expect(Segment.expertPrefix(seg, Int32Array.from(expert.subarray(0, 1)))).toBe(1) // a prefix of it
      const changed = Int32Array.from(expert)
      changed[1] = changed[1]! + 1
      expect(Segment.expertPrefix(seg, changed)).toBe(1) // differs at its second token
      expect(Segment.expertPrefix(seg, Int32Array.from([expert[0]! + 1, ...expert.subarray(1)]))).toBe(0)
      expect(Segment.expertPrefix(seg, new Int32Array(0))).toBe(0)
    }))
})
