import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Arrow from "apache-arrow"
import { afterAll, describe, expect, it } from "vitest"

const root = NodePath.resolve(import.meta.dirname, "../..")
const node = NodePath.join(root, "node_modules/.bin/node")
const bin = NodePath.join(root, "bin/stepagent.ts")
const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "eval-cli-"))
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
const env = { ...process.env, STEPAGENT_BACKEND: "wasm", STEPAGENT_THREADS: "1", STEPAGENT_MATMUL: "xnnpack" }
const cli = (args: ReadonlyArray<string>) => NodeChild.spawnSync(node, [bin, ...args], { cwd: root, encoding: "utf8", env })

describe("stepagent eval", () => {
  it("reference points: the expert solves every task, a random policy almost none", () => {
    const expert = cli(["eval", "--policy", "expert", "--env", "house", "--n", "20", "--json"])
    expect(expert.status, expert.stderr).toBe(0)
    expect(JSON.parse(expert.stdout)).toMatchObject({ avgReward: 1, successRate: 1, episodes: 20, env: "house", split: "test", policy: "expert" })
    const random = cli(["eval", "--policy", "random", "--env", "qa", "--n", "20", "--json"])
    expect(JSON.parse(random.stdout).successRate).toBeLessThan(0.2)
  })
  it("--episodes writes every episode's transcript, which data inspect reads back", () => {
    const file = NodePath.join(dir, "expert.arrows")
    const r = cli(["eval", "--policy", "expert", "--env", "shop", "--n", "5", "--json", "--episodes", file])
    expect(r.status, r.stderr).toBe(0)
    const inspect = cli(["data", "inspect", file, "--json"])
    expect(inspect.status, inspect.stderr).toBe(0)
    expect(JSON.parse(inspect.stdout)).toMatchObject({ trajectories: 5 })
    const bad = cli(["eval", "--policy", "expert", "--env", "shop", "--n", "1", "--episodes", NodePath.join(dir, "no", "such", "dir", "x.arrows")])
    expect(bad.status).toBe(1)
    expect(bad.stderr.trim().split("\n").filter((l) => l.startsWith("stepagent:"))).toHaveLength(1)
    expect(bad.stderr).toContain("--episodes")
  })
  it("--offset evaluates the tasks from that index (train tasks a run trained on); out of range is a one-line error", () => {
    const file = NodePath.join(dir, "offset.arrows")
    const r = cli(["eval", "--policy", "expert", "--env", "house", "--split", "train", "--offset", "4990", "--n", "3", "--json", "--episodes", file])
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ successRate: 1, episodes: 3, split: "train", offset: 4990 })
    expect(Array.from(Arrow.tableFromIPC(NodeFs.readFileSync(file)).getChild("taskId")!.toArray())).toEqual(["train:4990", "train:4991", "train:4992"])
    for (const args of [["--offset", "4999", "--n", "2"], ["--offset", "-1", "--n", "2"]]) {
      const bad = cli(["eval", "--policy", "expert", "--env", "house", "--split", "train", ...args])
      expect(bad.status).toBe(1)
      const lines = bad.stderr.trim().split("\n").filter((l) => l.startsWith("stepagent:"))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain("--offset")
    }
  })
  it("a checkpoint of a run is evaluated with the run's rendering; a missing one is a one-line error", () => {
    const out = NodePath.join(dir, "runs")
    const r = cli(["run", "pipelines/tiny.ts", "--out", out, "--set", "stages.2.n=2"])
    expect(r.status, r.stderr).toBe(0)
    const runDir = r.stdout.split("\n")[0]!
    const latest = NodeFs.readFileSync(NodePath.join(runDir, "checkpoints/LATEST"), "utf8").trim()
    const e = cli(["eval", "--checkpoint", NodePath.join(runDir, "checkpoints", latest), "--env", "qa", "--n", "4", "--json"])
    expect(e.status, e.stderr).toBe(0)
    const s = JSON.parse(e.stdout) as { episodes: number; avgReward: number }
    expect(s.episodes).toBe(4)
    expect(s.avgReward).toBeGreaterThanOrEqual(0)
    // the run directory, its checkpoints/ and checkpoints/LATEST name the same (latest) checkpoint
    for (const path of [runDir, NodePath.join(runDir, "checkpoints"), NodePath.join(runDir, "checkpoints", "LATEST")]) {
      const again = cli(["eval", "--checkpoint", path, "--env", "qa", "--n", "4", "--json"])
      expect(again.status, again.stderr).toBe(0)
      expect(JSON.parse(again.stdout)).toEqual(s)
    }
    // 40 episodes in 3 waves: on two evaluation threads, the one-thread summary; a conflicting --threads is one line
    const one = cli(["eval", "--checkpoint", runDir, "--env", "qa", "--n", "40", "--json", "--eval-threads", "1"])
    expect(one.status, one.stderr).toBe(0)
    const two = cli(["eval", "--checkpoint", runDir, "--env", "qa", "--n", "40", "--json", "--eval-threads", "2"])
    expect(two.status, two.stderr).toBe(0)
    expect(two.stderr).toContain("evaluation episodes shared by 2 threads")
    expect(JSON.parse(two.stdout)).toEqual(JSON.parse(one.stdout))
    const conflict = cli(["eval", "--checkpoint", runDir, "--env", "qa", "--n", "4", "--threads", "2", "--eval-threads", "2"])
    expect(conflict.status).toBe(1)
    expect(conflict.stderr).toContain("stepagent: --threads 2 with --eval-threads 2: each thread that evaluates runs a one-thread backend; leave out --threads")
    const missing = cli(["eval", "--checkpoint", NodePath.join(dir, "nope"), "--env", "qa", "--n", "2"])
    expect(missing.status).not.toBe(0)
    expect(missing.stderr.trim().split("\n").filter((l) => l.startsWith("stepagent:"))).toHaveLength(1)
  }, 240_000)
  it("an unwritable run directory is a clear error", () => {
    const file = NodePath.join(dir, "a-file")
    NodeFs.writeFileSync(file, "")
    const r = cli(["run", "pipelines/tiny.ts", "--out", NodePath.join(file, "runs")])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/stepagent: .*a-file\/runs.*not a directory/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
