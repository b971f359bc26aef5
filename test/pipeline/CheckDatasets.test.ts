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

/** Pipeline.checkDatasets' outcome: its error, or success. */
const outcome = (definition: unknown) =>
  Effect.runPromise(Effect.gen(function*() {
    const p = yield* Pipeline.decode("p.ts", definition)
    return yield* Effect.result(Pipeline.checkDatasets("p.ts", p))
  }).pipe(Effect.provide(NodeFileSystem.layer)))

/** Pipeline.checkDatasets' error (a success fails the test). */
const check = async (definition: unknown) => {
  const r = await outcome(definition)
  if (r._tag === "Success") throw new Error("checkDatasets passed")
  return r.failure
}

describe("env.url and env.protocol", () => {
  const remote = (env: Record<string, unknown>) => ({ ...house(1), env: { name: "qa", ...env }, data: { train: ["no-such.arrows"] } })
  it("a WebSocket URL with the AgentGym protocol (the default) is refused with one line; env.protocol openenv takes it", async () => {
    const e = await check(remote({ url: "ws://127.0.0.1:8000" }))
    expect(e.message).toBe(`p.ts: env.url: ws://127.0.0.1:8000 is a WebSocket URL: an OpenEnv server needs the openenv protocol (--env-protocol openenv, or env.protocol: "openenv")`)
    // with openenv the URL passes, and the check goes on to the next problem (the train file does not exist)
    expect((await check(remote({ url: "ws://127.0.0.1:8000", protocol: "openenv" }))).message).toBe("p.ts: dataset no-such.arrows does not exist")
  })
})

describe("env.expert", () => {
  it("\"explore\" is shop's: on house it is one line before any work; on shop it passes, and a bad value fails decoding", async () => {
    expect((await check({ ...house(1), env: { name: "house", expert: "explore" } })).message).toBe(`p.ts: env.expert: "explore" is for shop only (house's expert already searches, qa's acts on what its searches return)`)
    expect((await outcome({ ...house(1), env: { name: "shop", expert: "explore" } }))._tag).toBe("Success")
    const bad = await Effect.runPromise(Effect.flip(Pipeline.decode("p.ts", { ...house(1), env: { name: "shop", expert: "wander" } })))
    expect(bad.message.split("\n")).toHaveLength(1)
    expect(bad.message).toContain("env.expert")
  })
})
