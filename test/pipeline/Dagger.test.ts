import * as NodePath from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem, Layer } from "effect"
import * as TestConsole from "effect/testing/TestConsole"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as Progress from "../../src/pipeline/Progress.ts"
import * as Start from "../../src/pipeline/Start.ts"
import * as RunDir from "../../src/report/RunDir.ts"

const services = Layer.mergeAll(NodeFileSystem.layer, Backend.layerTest, Progress.layerNone, TestConsole.layer)
const pipeline = "test/fixtures/pipelines/house-dagger-tiny.ts"

type Record = { readonly stage: string; readonly iteration: number } & Readonly<globalThis.Record<string, number>>

describe("dagger stage (in a run)", () => {
  it.effect("rolls out, relabels and trains every round: one unit a round, SFT steps on the round's trajectories", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const out = yield* fs.makeTempDirectoryScoped({ prefix: "dagger-" })
      const runDir = yield* Start.start(pipeline, { out, sets: [] })
      const records = (yield* fs.readFileString(NodePath.join(runDir, RunDir.METRICS))).trim().split("\n").map((l) => JSON.parse(l) as Record)
      const rounds = records.filter((r) => r.stage === "dagger")
      assert.deepStrictEqual(rounds.map((r) => r.iteration), [0, 1]) // one wave of 6 episodes a round
      for (const r of rounds) {
        // a tiny model errs at once: 6 rollouts, up to 2 cuts each
        assert.isTrue(r["dagger/relabelled"]! > 0 && r["dagger/relabelled"]! <= 12, JSON.stringify(r))
        assert.strictEqual(r["rollout/avg_steps"], 6)
      }
      // each round trains by SFT on its relabelled trajectories and as many expert ones (batches of 8)
      const sftSteps = (iteration: number) => records.filter((r) => r.stage === "sft" && r.iteration === iteration && r["loss/sft"] !== undefined)
      for (const [i, round] of rounds.entries()) {
        const n = 2 * round["dagger/relabelled"]!
        // iteration 0's SFT records are the warm start's and the first round's
        const expected = Math.ceil(n / 8) + (i === 0 ? 4 : 0)
        assert.strictEqual(sftSteps(i).length, expected)
      }
      const state = yield* Effect.flatMap(fs.readFileString(NodePath.join(runDir, RunDir.STATE)), (s) => Effect.succeed(JSON.parse(s) as { completed: number; units: number }))
      assert.deepInclude(state, { completed: 4, units: 4 })
    }).pipe(Effect.provide(services)), 120_000)

  it.effect("runs on shop, whose expert (direct or exploring) acts from any state too", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const out = yield* fs.makeTempDirectoryScoped({ prefix: "dagger-" })
      const runDir = yield* Start.start(pipeline, { out, sets: ["env.name=shop", "env.expert=explore"] })
      const records = (yield* fs.readFileString(NodePath.join(runDir, RunDir.METRICS))).trim().split("\n").map((l) => JSON.parse(l) as Record)
      const rounds = records.filter((r) => r.stage === "dagger")
      assert.deepStrictEqual(rounds.map((r) => r.iteration), [0, 1])
      for (const r of rounds) assert.isTrue(r["dagger/relabelled"]! > 0 && r["dagger/relabelled"]! <= 12, JSON.stringify(r))
    }).pipe(Effect.provide(services)), 120_000)

  it.effect("refuses an environment whose expert cannot act from any state, or a remote one, in one line before any work", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const out = yield* fs.makeTempDirectoryScoped({ prefix: "dagger-" })
      const error = yield* Effect.flip(Start.start(pipeline, { out, sets: ["env.name=qa"] }))
      assert.strictEqual(error.message, `${pipeline}: stages[1]: dagger needs an expert that acts from any state; qa's acts only from the start (house's and shop's can)`)
      assert.deepStrictEqual(yield* fs.readDirectory(out), []) // no run directory: refused before any work
    }).pipe(Effect.provide(services)), 120_000)
})
