import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer, Logger } from "effect"
import { describe, expect, it } from "@effect/vitest"
import * as Pipeline from "../../src/pipeline/Pipeline.ts"

/** Pipeline.checkDatasets' warnings, captured in-process with a logger of its own. */
const warnings = (definition: unknown) => {
  const lines: Array<string> = []
  const capture = Logger.layer([Logger.make(({ message }) => {
    lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
  })])
  return Effect.gen(function*() {
    const p = yield* Pipeline.decode("p.ts", definition)
    yield* Pipeline.checkDatasets("p.ts", p)
    return lines
  }).pipe(Effect.provide(Layer.mergeAll(NodeFileSystem.layer, capture)))
}

const house = (n: number) => ({
  name: "h",
  method: "sft",
  env: { name: "house" },
  data: { generate: { n } },
  tokenizer: {},
  model: { preset: "tiny" },
  stages: [{ stage: "sft", epochs: 1 }]
})

describe("data.generate.n beyond the environment's train tasks", () => {
  it.effect("is said in one warning before any work (house has 5,000 train tasks a world); within them, nothing is said", () =>
    Effect.gen(function*() {
      expect(yield* warnings(house(38_500))).toEqual(["p.ts: data.generate.n 38500: house has 5000 train tasks a world, so 5000 trajectories are generated from 1 world"])
      expect(yield* warnings(house(5_000))).toEqual([])
    }))
})
