import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer, Logger } from "effect"
import { describe, expect, it } from "vitest"
import * as Pipeline from "../../src/pipeline/Pipeline.ts"

/** Pipeline.checkDatasets' warnings, captured in-process with a logger of its own. */
const warnings = async (definition: unknown): Promise<Array<string>> => {
  const lines: Array<string> = []
  const capture = Logger.layer([Logger.make(({ message }) => {
    lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
  })])
  await Effect.runPromise(Effect.gen(function*() {
    const p = yield* Pipeline.decode("p.ts", definition)
    yield* Pipeline.checkDatasets("p.ts", p)
  }).pipe(Effect.provide(Layer.mergeAll(NodeFileSystem.layer, capture))))
  return lines
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
  it("is said in one warning before any work (house has 5,000 train tasks a world); within them, nothing is said", async () => {
    expect(await warnings(house(38_500))).toEqual(["p.ts: data.generate.n 38500: house has 5000 train tasks a world, so 5000 trajectories are generated from 1 world"])
    expect(await warnings(house(5_000))).toEqual([])
  })
})
