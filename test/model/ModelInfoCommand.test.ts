import { execFile } from "node:child_process"
import * as path from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import * as Preset from "../../src/model/Preset.ts"
import * as Transformer from "../../src/model/Transformer.ts"

const run = promisify(execFile)
const bin = path.join(import.meta.dirname, "../../bin/stepagent.ts")

describe("stepagent model info", () => {
  it("prints the preset, its parameter count and its config as JSON, with overrides", async () => {
    const { stdout } = await run(process.execPath, [bin, "model", "info", "--preset", "tiny", "--layers", "3"], { timeout: 30_000 })
    const out = JSON.parse(stdout) as { preset: string; parameters: number; config: Transformer.Config }
    expect(out.preset).toBe("tiny")
    expect(out.config).toEqual(Preset.config("tiny", { layers: 3 }))
    expect(out.parameters).toBe(Transformer.parameterCount(Preset.config("tiny", { layers: 3 })))
  })
  it("fails with one line on an impossible config", async () => {
    const err = await run(process.execPath, [bin, "model", "info", "--preset", "small", "--heads", "3"], { timeout: 30_000 }).then(() => undefined, (e: { code: number; stderr: string }) => e)
    expect(err?.code).toBe(1)
    expect(err?.stderr.trim()).toBe("stepagent: model info --preset small: dModel (128) must be a multiple of heads (3)")
  })
})
