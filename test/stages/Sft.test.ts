import { Effect, Stream } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as Optimizer from "../../src/model/Optimizer.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Segment from "../../src/stages/Segment.ts"
import * as Sft from "../../src/stages/Sft.ts"
import * as Fixtures from "./Fixtures.ts"
import * as World from "./World.ts"

let world: World.World
beforeAll(async () => {
  await World.backend()
  world = await Effect.runPromise(World.signals({ train: 8, heldOut: 1 }))
})

/** The trajectory with the actions of `steps` flagged as no target (as a recovery's mistakes are). */
const flagged = (t: Tokenized.TokenizedTrajectory, steps: ReadonlyArray<number>): Tokenized.TokenizedTrajectory => ({
  ...t,
  actionLoss: Uint8Array.from({ length: Tokenized.stepCount(t) }, (_, i) => (steps.includes(i) ? 0 : 1))
})

/** The statistics of an SFT step that must have succeeded. */
const ok = <A>(r: { readonly ok: true; readonly value: A } | { readonly ok: false }): A => {
  if (!r.ok) throw new Error(`the SFT step failed: ${JSON.stringify(r)}`)
  return r.value
}

const actionTokens = (t: Tokenized.TokenizedTrajectory, steps: ReadonlyArray<number>): number =>
  steps.reduce((n, i) => n + Tokenized.actEnd(t, i) - Tokenized.actStart(t, i), 0)

describe("actions flagged as no target (turnLoss false, recoveries)", () => {
  it("are no SFT targets: the action tokens count only the others, and a trajectory of flagged actions moves no weight", () => {
    const t = world.train.find((x) => Tokenized.stepCount(x) >= 3)!
    const n = Tokenized.stepCount(t)
    const policy = Transformer.init(world.config, 5)
    const opt = Optimizer.make(Transformer.named(policy.weights), { learningRate: 1e-2 })
    const mixed = ok(Sft.step(policy, opt, [flagged(t, [1])], 8192, 0.25))
    expect(mixed.actionTokens).toBe(actionTokens(t, Array.from({ length: n }, (_, i) => i).filter((i) => i !== 1)))
    expect(ok(Sft.step(policy, opt, [t], 8192, 0.25)).actionTokens).toBe(actionTokens(t, Array.from({ length: n }, (_, i) => i)))
    // actions only (no language-model loss): every action flagged leaves nothing to learn from
    const before = Fixtures.weights(policy)
    const none = ok(Sft.step(policy, opt, [flagged(t, Array.from({ length: n }, (_, i) => i))], 8192, 0))
    expect(none.actionTokens).toBe(0)
    expect(Fixtures.sameWeights(Fixtures.weights(policy), before)).toBe(true)
    // with one action a target, the weights move
    Sft.step(policy, opt, [flagged(t, Array.from({ length: n - 1 }, (_, i) => i))], 8192, 0)
    expect(Fixtures.sameWeights(Fixtures.weights(policy), before)).toBe(false)
  })

  it("are no expert states for StepAgent and step DPO: segmentation skips them", async () => {
    const t = world.train.find((x) => Tokenized.stepCount(x) >= 3)!
    const segs = await Effect.runPromise(Stream.runCollect(Segment.segment(Stream.fromIterable([flagged(t, [0, 2])]))))
    expect(Array.from(segs, (s) => s.step)).toEqual(Array.from({ length: Tokenized.stepCount(t) }, (_, i) => i).filter((i) => i !== 0 && i !== 2))
  })
})
