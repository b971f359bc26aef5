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

describe("Dataset.trainedOn", () => {
  const decodeStages = (stages: ReadonlyArray<unknown>) =>
    Pipeline.decode("test.ts", {
      name: "trained",
      method: "sft",
      env: { name: "house" },
      data: { generate: { n: 20, seeds: [0] } },
      tokenizer: { vocab: 300 },
      model: { preset: "tiny" },
      stages
    })
  const taskIds = (p: Pipeline.Pipeline, n: number) => Effect.map(Stream.runCollect(Dataset.trainedOn(p, n)), (ts) => Array.from(ts, (t) => t.taskId))
  it.effect("starts where the first SFT stage does, else a DAgger stage's expert data, else the data's start", () =>
    Effect.gen(function*() {
      const train = (i: number) => `train:${i}`
      assert.deepStrictEqual(yield* taskIds(yield* decodeStages([{ stage: "sft", epochs: 1, offset: 5 }, { stage: "sft", epochs: 1, offset: 9 }]), 3), [5, 6, 7].map(train))
      assert.deepStrictEqual(yield* taskIds(yield* decodeStages([{ stage: "dagger", expertOffset: 12 }, { stage: "evaluate" }]), 2), [12, 13].map(train))
      assert.deepStrictEqual(yield* taskIds(yield* decodeStages([{ stage: "evaluate" }]), 2), [0, 1].map(train))
      // no more than the data holds
      assert.deepStrictEqual(yield* taskIds(yield* decodeStages([{ stage: "sft", epochs: 1, offset: 18 }]), 5), [18, 19].map(train))
    }), 60_000)
})
