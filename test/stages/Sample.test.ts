import { expect, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import { EOA } from "../../src/data/Tokenizer.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Sample from "../../src/stages/Sample.ts"
import * as Segment from "../../src/stages/Segment.ts"
import * as Fixtures from "./Fixtures.ts"
import * as World from "./World.ts"

layer(World.layerSignals({ train: 24, heldOut: 4 }))("sample", (it) => {
  it.effect("draws k actions per state, each ending with <|eoa|> or cut at maxTokens; the same seed draws the same actions", () =>
    Effect.gen(function*() {
      const world = yield* World.SignalsWorld
      const policy = World.fresh(world)
      const draw = (seed: number) =>
        Stream.runCollect(Stream.fromIterable(world.train.slice(0, 4)).pipe(
          Segment.segment,
          Sample.sample({ ...Sample.defaults, k: 3, maxTokens: 6, batchSize: 5 }, { seed, iteration: 0 })
        )).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Models.copy(policy))))
      const a = yield* draw(1)
      const b = yield* draw(1)
      const c = yield* draw(2)
      const states = world.train.slice(0, 4).reduce((n, t) => n + Tokenized.stepCount(t), 0)
      expect(a.length).toBe(3 * states)
      a.forEach((x, i) => {
        expect(x.sample).toBe(i % 3)
        expect(x.segment.step).toBe(a[i - (i % 3)]!.segment.step)
        expect(x.tokens.length).toBe(x.logp.length)
        if (x.stopped) expect(x.tokens[x.tokens.length - 1]).toBe(EOA)
        else expect(x.tokens.length).toBe(6)
        for (const l of x.logp) expect(l).toBeLessThanOrEqual(0)
        expect(x.text).toBe(world.tokenizer.decode(x.tokens))
      })
      expect(a.map((x) => Array.from(x.tokens))).toEqual(b.map((x) => Array.from(x.tokens)))
      expect(a.map((x) => Array.from(x.tokens))).not.toEqual(c.map((x) => Array.from(x.tokens)))
      Transformer.dispose(policy)
    }))
})
