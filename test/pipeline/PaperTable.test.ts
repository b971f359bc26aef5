import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { describe, expect, it } from "vitest"
import * as Processes from "../cluster/Processes.ts"

/** pipelines/paper-table.ts at the smoke budget: `--warm` takes an SFT run made elsewhere as a pair's warm start. */
describe("paper-table.ts --warm", () => {
  it("adopts an evaluated SFT run that trained as the table's sft (its row in the table), and refuses one that did not in one line", async () => {
    const tmp = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "paper-table-"))
    const table = (out: string, extra: ReadonlyArray<string>) =>
      Processes.spawn(["pipelines/paper-table.ts", "--budget", "smoke", "--envs", "house", "--methods", "sft", "--seeds", "1", "--out", NodePath.join(tmp, out), ...extra])
    const first = await table("a", [])
    expect(first.status, first.stderr).toBe(0)
    const sft = NodePath.join(tmp, "a", NodeFs.readdirSync(NodePath.join(tmp, "a")).find((d) => d.startsWith("house-sft-smoke__1__"))!)
    const adopted = await table("b", ["--warm", `house:1=${sft}`])
    expect(adopted.status, adopted.stderr).toBe(0)
    expect(adopted.stderr).toContain(`house sft seed 1: ${sft} (--warm)`)
    expect(adopted.stdout).toMatch(/\| sft \| [0-9.]+ \[/) // the adopted run is the table's sft row
    expect(NodeFs.readdirSync(NodePath.join(tmp, "b")).filter((d) => d.includes("__"))).toEqual([]) // no SFT run of its own
    const wrongSeed = await table("c", ["--warm", `house:2=${sft}`, "--dry-run"])
    expect(wrongSeed.status).toBe(2)
    expect(wrongSeed.stderr.split("\n")[0]).toBe(`paper-table: --warm house:2=${sft}: ${sft} did not train as experiment.ts's house sft of seed 2: seed differs`)
    const notRun = await table("c", ["--warm", `house:1=${tmp}`, "--dry-run"])
    expect(notRun.stderr.split("\n")[0]).toBe(`paper-table: --warm house:1=${tmp}: ${tmp} is not a run directory (no config.json)`)
  }, 180_000)
})
