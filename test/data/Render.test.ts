import { assert, describe, it } from "@effect/vitest"
import { fc, it as prop } from "@fast-check/vitest"
import { Effect } from "effect"
import * as Bpe from "../../src/data/Bpe.ts"
import * as Render from "../../src/data/Render.ts"
import { ACT, BOS, EOA, OBS } from "../../src/data/Tokenizer.ts"
import { renderAction, type Step } from "../../src/domain/Step.ts"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"

const trajectory: Trajectory = {
  id: "t1",
  env: "shop",
  taskId: "train:0",
  instruction: "You are shopping. Find what the user asks for.",
  steps: [
    { observation: "WebShop [SEP] i need a blue cotton t-shirt [SEP] Search", thought: "I search first.", action: "search[blue cotton t-shirt]" },
    { observation: "[Back to Search] [B07ABC] Blue Cotton T-Shirt $12.99", action: "click[B07ABC]" },
    { observation: "<|eoa|> is just text here", action: "click[buy now]", raw: "click[buy now] " }
  ],
  finalObservation: "Thank you for shopping!",
  reward: 0.75,
  success: true,
  source: "generated:shop"
}
const bpe = Effect.runSync(Bpe.train(Array.from({ length: 20 }, () => Render.texts(trajectory)).flat(), { vocabSize: 320 }))

/** Checks every layout invariant of src/domain/Tokenized.ts for one rendering. */
const checkLayout = (t: Trajectory, r: Tokenized.TokenizedTrajectory): void => {
  const n = Tokenized.stepCount(r)
  assert.strictEqual(n, t.steps.length)
  assert.strictEqual(r.tokens[0], BOS)
  // The prelude ends at the first <|obs|> (only BOS and OBS can follow it, and the text has no specials).
  const firstObs = r.tokens.indexOf(OBS)
  let at = firstObs < 0 ? r.tokens.length : firstObs
  assert.strictEqual(bpe.decode(r.tokens.subarray(1, at)), t.instruction.toWellFormed())
  for (let i = 0; i < n; i++) {
    const step: Step = t.steps[i]!
    assert.strictEqual(Tokenized.obsStart(r, i), at, "spans are contiguous")
    assert.strictEqual(Tokenized.obsEnd(r, i), Tokenized.actStart(r, i))
    assert.strictEqual(r.tokens[Tokenized.obsStart(r, i)], OBS)
    assert.strictEqual(r.tokens[Tokenized.obsEnd(r, i) - 1], ACT)
    assert.strictEqual(r.tokens[Tokenized.actEnd(r, i) - 1], EOA)
    assert.strictEqual(bpe.decode(r.tokens.subarray(Tokenized.obsStart(r, i) + 1, Tokenized.obsEnd(r, i) - 1)), step.observation.toWellFormed())
    assert.strictEqual(bpe.decode(r.tokens.subarray(Tokenized.actStart(r, i), Tokenized.actEnd(r, i) - 1)), renderAction(step).toWellFormed())
    at = Tokenized.actEnd(r, i)
  }
  // After the last action: the final observation, or nothing.
  const tail = r.tokens.subarray(at)
  if (t.finalObservation !== undefined) {
    assert.strictEqual(tail[0], OBS)
    assert.strictEqual(bpe.decode(tail.subarray(1)), t.finalObservation.toWellFormed())
  } else assert.strictEqual(tail.length, 0)
  // Special tokens appear only where the layout puts them.
  const specials = Array.from(r.tokens).filter((x) => x < 5).length
  assert.strictEqual(specials, 1 + 3 * n + (t.finalObservation !== undefined ? 1 : 0))
}

describe("Render", () => {
  it("renders the documented layout", () => {
    const r = Render.render(bpe, trajectory)
    assert.strictEqual(r.id, "t1")
    assert.strictEqual(r.reward, 0.75)
    assert.isTrue(r.success)
    assert.strictEqual(r.spans.length, 12)
    checkLayout(trajectory, r)
  })
  it("is the concatenation of the turn encoders", () => {
    const r = Render.render(bpe, trajectory)
    const parts = [Render.encodePrelude(bpe, trajectory.instruction)]
    for (const s of trajectory.steps) parts.push(Render.encodeObservationTurn(bpe, s.observation), Render.encodeActionTurn(bpe, renderAction(s)))
    parts.push(Render.encodeFinalObservation(bpe, trajectory.finalObservation!))
    assert.deepStrictEqual(Array.from(r.tokens), parts.flatMap((p) => Array.from(p)))
  })
  it("the action turn decodes to the assistant turn, thought included", () => {
    const r = Render.render(bpe, trajectory)
    assert.strictEqual(bpe.decode(r.tokens.subarray(Tokenized.actStart(r, 0), Tokenized.actEnd(r, 0))), "Thought: I search first.\nAction: search[blue cotton t-shirt]")
    // The state of step 1 is every token before its action.
    const state = bpe.decode(r.tokens.subarray(0, Tokenized.obsEnd(r, 1)))
    assert.isTrue(state.endsWith("$12.99"))
  })
  it("texts lists what rendering encodes, in order", () => {
    assert.deepStrictEqual(Render.texts(trajectory), [
      trajectory.instruction,
      trajectory.steps[0]!.observation,
      "Thought: I search first.\nAction: search[blue cotton t-shirt]",
      trajectory.steps[1]!.observation,
      "click[B07ABC]",
      trajectory.steps[2]!.observation,
      "click[buy now] ",
      "Thank you for shopping!"
    ])
  })
  const text = fc.string({ unit: fc.oneof(fc.constantFrom("a", " ", "[", "]", "\n", "<|eoa|>", "é"), fc.string({ unit: "binary", minLength: 1, maxLength: 1 })), maxLength: 20 })
  const step = fc.record({ observation: text, action: text, thought: fc.option(text, { nil: undefined }) }).map((s): Step =>
    s.thought === undefined ? { observation: s.observation, action: s.action } : { observation: s.observation, action: s.action, thought: s.thought }
  )
  prop.prop([text, fc.array(step, { maxLength: 5 }), fc.option(text, { nil: undefined })], { seed: 5, numRuns: 200 })(
    "spans are consistent for any trajectory",
    (instruction, steps, finalObservation) => {
      const { finalObservation: _, ...base } = trajectory
      const t: Trajectory = finalObservation === undefined ? { ...base, instruction, steps } : { ...base, instruction, steps, finalObservation }
      checkLayout(t, Render.render(bpe, t))
    }
  )

  it("marks the actions whose turn is flagged loss: false as no target, and nothing when no action is", () => {
    // turns: instruction, ack, then observation and action per step, then the final observation
    const flags = [null, false, null, true, null, false, null, null, null]
    const r = Render.render(bpe, { ...trajectory, turnLoss: flags })
    assert.deepStrictEqual(Array.from(r.actionLoss ?? []), [1, 0, 1])
    assert.deepStrictEqual([0, 1, 2].map((i) => Tokenized.trained(r, i)), [true, false, true])
    // AgentGym's defaults (acknowledgement false, actions true), flags of the wrong length, no flags: every action a target
    for (const turnLoss of [[null, false, null, true, null, true, null, true, null], [false, false], undefined]) {
      const plain = Render.render(bpe, turnLoss === undefined ? trajectory : { ...trajectory, turnLoss })
      assert.strictEqual(plain.actionLoss, undefined)
      assert.deepStrictEqual(Array.from(plain.tokens), Array.from(r.tokens))
    }
  })
})
