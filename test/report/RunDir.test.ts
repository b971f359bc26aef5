import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import * as RunDir from "../../src/report/RunDir.ts"

/**
 * The run files are written with the Schemas they are read back with (src/pipeline: Start.ts, Evaluation.ts, StepRewardSamples.ts, RunState.ts):
 * encoding lists a struct's fields in the Schema's order, so a Schema whose fields were reordered would change the
 * files. Each file below, as the runner wrote it before it encoded with these Schemas, must come back to the byte.
 */
const fixtures = path.join(import.meta.dirname, "..", "fixtures", "runs")

const again = <S extends Schema.Top & { readonly DecodingServices: never; readonly EncodingServices: never }>(schema: S, json: unknown): unknown =>
  Schema.encodeSync(schema)(Schema.decodeUnknownSync(schema)(json))

const pretty = (json: unknown) => JSON.stringify(json, null, 2) + "\n"

// state.json and a step-rewards record of `stepagent run pipelines/tiny.ts` (agent actions shortened)
const state = [
  "{",
  "  \"format\": \"stepagent-run-state/1\",",
  "  \"completed\": 5,",
  "  \"checkpoint\": \"checkpoints/unit-0005\",",
  "  \"metricsBytes\": 8730,",
  "  \"samplesBytes\": 5970,",
  "  \"units\": 5,",
  "  \"hash\": \"c878e1f0eb37db1e\",",
  "  \"backend\": \"tensor backend wasm (matmul xnnpack, 1 wasm thread)\",",
  "  \"previous\": {",
  "    \"completed\": 4,",
  "    \"checkpoint\": \"checkpoints/unit-0004\",",
  "    \"metricsBytes\": 8244,",
  "    \"samplesBytes\": 5970",
  "  }",
  "}",
  ""
].join("\n")
const sample = "{\"stage\":\"stepagent\",\"iteration\":0,\"trajectoryId\":\"qa-0-train:24\",\"taskId\":\"train:24\",\"env\":\"qa\",\"steps\":[{\"step\":0,\"expert\":\"search[Drastei]\",\"agent\":\"lookup[popu\",\"agentReward\":-1.3479751348495483,\"expertReward\":0.15579986572265625,\"match\":false},{\"step\":1,\"expert\":\"search[Krekrornvale]\",\"agent\":\"lookup[popu\",\"agentReward\":-1.1115127801895142,\"expertReward\":0.15620803833007812,\"match\":false}]}"

describe("RunDir Schemas", () => {
  for (const run of fs.readdirSync(fixtures).filter((d) => fs.statSync(path.join(fixtures, d)).isDirectory())) {
    it(`${run}: config.json and eval/summary.json encode back to their bytes`, () => {
      for (const [file, schema] of [[RunDir.CONFIG, RunDir.RunConfig], [RunDir.SUMMARY, RunDir.EvalSummary]] as const) {
        const text = fs.readFileSync(path.join(fixtures, run, file), "utf8")
        assert.strictEqual(pretty(again(schema, JSON.parse(text))), text, file)
      }
    })
  }

  it("state.json and a samples record encode back to their bytes", () => {
    assert.strictEqual(pretty(again(RunDir.State, JSON.parse(state))), state)
    assert.strictEqual(JSON.stringify(again(RunDir.SampledTrajectory, JSON.parse(sample))), sample)
  })

  it("a value a Schema refuses is not written: a non-finite reward fails to encode", () => {
    const bad = { ...Schema.decodeUnknownSync(RunDir.SampledTrajectory)(JSON.parse(sample)), steps: [{ step: 0, expert: "a", agent: "b", agentReward: Number.NaN, match: false }] }
    assert.throws(() => Schema.encodeSync(RunDir.SampledTrajectory)(bad))
  })
})
