import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Context from "../../src/model/Context.ts"
import * as Pipeline from "../../src/pipeline/Pipeline.ts"
import * as Dataset from "../../src/pipeline/Dataset.ts"

const decode = (generate: unknown) =>
  Pipeline.decode("test.ts", {
    name: "gen",
    method: "sft",
    env: { name: "qa" },
    data: { generate },
    tokenizer: { vocab: 300 },
    model: { preset: "tiny" },
    stages: [{ stage: "sft", epochs: 1 }]
  })

describe("generated expert data", () => {
  it.effect("data.generate.thoughts gives the experts' Thought: ... turns; without it, bare actions", () =>
    Effect.gen(function*() {
      const withThoughts = yield* Stream.runCollect(Dataset.trajectories(yield* decode({ n: 4, seeds: [0, 1], thoughts: true })))
      const bare = yield* Stream.runCollect(Dataset.trajectories(yield* decode({ n: 4, seeds: [0, 1] })))
      expect(withThoughts).toHaveLength(4)
      for (const [i, t] of withThoughts.entries()) {
        for (const s of t.steps) expect(s.thought, t.id).toMatch(/\S/)
        // the same tasks, the same actions: thoughts only add the reasoning before each
        expect(t.steps.map((s) => s.action)).toEqual(bare[i]!.steps.map((s) => s.action))
      }
      for (const t of bare) for (const s of t.steps) expect(s.thought).toBeUndefined()
    }))

  it("the action reserve: 64 for small's 512 tokens, 96 for 768 (thought turns), a quarter of tiny contexts", () => {
    expect([128, 512, 768, 1024].map(Context.actionReserve)).toEqual([32, 64, 96, 128])
  })
})
