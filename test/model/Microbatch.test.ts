import { describe, expect, it } from "vitest"
import * as Microbatch from "../../src/model/Microbatch.ts"
import * as Preset from "../../src/model/Preset.ts"

describe("Microbatch.trainingTokens", () => {
  it("lowers a pass's token budget to what the heap holds for wide models, and leaves small ones at maxTokens", () => {
    const wide = Preset.config("small", { vocabSize: 1024, dModel: 192 })
    const tokens = Microbatch.trainingTokens(wide, 8192)
    expect(tokens).toBeLessThan(8192) // 8,192 tokens at dModel 192 exhausted the 4 GB wasm heap
    expect(tokens * Microbatch.trainingBytesPerToken(wide)).toBeLessThanOrEqual(Microbatch.trainingBytes)
    expect(tokens).toBeGreaterThan(4077) // an SFT batch of 8 qa trajectories (4,077 tokens) stays one pass
    expect(Microbatch.trainingTokens(Preset.config("tiny", { vocabSize: 512, contextLength: 96 }), 8192)).toBe(8192)
    expect(Microbatch.trainingTokens(Preset.config("base", { vocabSize: 1024 }), 8192)).toBeGreaterThanOrEqual(1)
  })
  it("the fitted bytes per token match the measured peak of a dModel-192 pass within 5%", () => {
    // tf.profile of an SFT step over 4,077 tokens in rows of 453 (docs/model.md): 2.93 GB
    const perToken = Microbatch.trainingBytesPerToken({ ...Preset.config("small", { vocabSize: 1024, dModel: 192 }), contextLength: 453 })
    expect(Math.abs(perToken * 4077 - 2.93e9) / 2.93e9).toBeLessThan(0.05)
  })
})
