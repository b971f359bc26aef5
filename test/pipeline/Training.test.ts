import { assert, describe, it } from "@effect/vitest"
import * as Training from "../../src/pipeline/Training.ts"

describe("Training.roundTasks (outcome PPO's and DAgger's rollouts)", () => {
  it("gives each round the next tasks from the offset", () => {
    assert.deepStrictEqual(Training.roundTasks(0, 0, 3, 100), ["train:0", "train:1", "train:2"])
    assert.deepStrictEqual(Training.roundTasks(4900, 1, 16, 5000), Array.from({ length: 16 }, (_, i) => `train:${4916 + i}`))
  })
  it("cycles over the split", () => {
    assert.deepStrictEqual(Training.roundTasks(98, 0, 4, 100), ["train:98", "train:99", "train:0", "train:1"])
  })
})
