import * as NodeFs from "node:fs"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Start from "../../src/pipeline/Start.ts"

/**
 * Every pipeline shipped in pipelines/ resolves as `stepagent run` would resolve it (loads, decodes, passes the dataset
 * and split checks), so none fails at its first line for a user. experiment.ts (the builder), paper-table.ts (a
 * script that runs the others) and shop-heuristics.ts (an analysis of the shop environment) are not pipelines.
 */
const notPipelines = ["experiment.ts", "paper-table.ts", "shop-heuristics.ts"]
const scripts = NodeFs.readdirSync("pipelines").filter((f) => f.endsWith(".ts") && !notPipelines.includes(f)).sort()

describe("shipped pipelines", () => {
  it("are found", () => {
    assert.includeMembers(scripts, ["quickstart.ts", "tiny.ts", "qa-sft.ts", "house-sft-4800.ts"])
  })
  for (const script of scripts) {
    it.effect(`${script} resolves`, () =>
      Effect.gen(function*() {
        const p = yield* Start.resolve(`pipelines/${script}`, [])
        assert.isTrue(p.stages.length > 0)
      }).pipe(Effect.provide(NodeFileSystem.layer)))
  }
})
