import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Dataset from "../../src/pipeline/Dataset.ts"
import * as Pipeline from "../../src/pipeline/Pipeline.ts"

const decode = (data: unknown) =>
  Pipeline.decode("test.ts", {
    name: "count",
    method: "sft",
    env: { name: "qa" },
    data,
    tokenizer: { vocab: 300 },
    model: { preset: "tiny" },
    stages: [{ stage: "sft", epochs: 1 }]
  })

describe("Dataset.count", () => {
  // without decoding the files' rows or generating trajectories: the number a pass over the data gives
  for (
    const [name, data] of [
      ["a file", { train: ["data/qa-train.arrows"] }],
      ["a file, limited", { train: ["data/qa-train.arrows"], limit: 300 }],
      ["generated", { generate: { n: 40, seeds: [0, 1] } }],
      ["more generated than there are train tasks", { generate: { n: 1_000_000 } }],
      ["a file then generated, limited past the file", { train: ["data/qa-train.arrows"], generate: { n: 30 }, limit: 1_000_000 }],
      ["a file then generated, limited inside the file", { train: ["data/qa-train.arrows"], generate: { n: 30 }, limit: 5 }]
    ] as const
  ) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const p = yield* decode(data)
        assert.strictEqual(yield* Dataset.count(p), yield* Stream.runCount(Dataset.trajectories(p)))
      }), 60_000)
  }
})
