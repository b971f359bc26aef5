import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Pipeline from "../../src/pipeline/Pipeline.ts"

/**
 * Kill-and-resume exactness on the tiny pipeline: a run killed with SIGKILL at several moments (mid-unit,
 * just after a checkpoint) and resumed each time ends with the same eval/summary.json and the same metrics
 * as the uninterrupted run, bit for bit (wall-time metrics, perf/* and timing/*, aside).
 */
const root = NodePath.resolve(import.meta.dirname, "../..")
const node = NodePath.join(root, "node_modules/.bin/node")
const bin = NodePath.join(root, "bin/stepagent.ts")
const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "resume-"))
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
// One backend for every process of the test: exactness is promised on the same backend.
const env = { ...process.env, STEPAGENT_BACKEND: "wasm", STEPAGENT_THREADS: "1", STEPAGENT_MATMUL: "xnnpack" }

const cli = (args: ReadonlyArray<string>) => NodeChild.spawnSync(node, [bin, ...args], { cwd: root, encoding: "utf8", env })

const runDirOf = (out: string) => NodePath.join(out, NodeFs.readdirSync(out)[0]!)

const withoutWallTime = (path: string): Array<string> =>
  NodeFs.readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => {
    const o = JSON.parse(l) as Record<string, unknown>
    for (const k of Object.keys(o)) if (k.startsWith("perf/") || k.startsWith("timing/")) delete o[k]
    return JSON.stringify(o)
  })

const lines = (path: string) => NodeFs.existsSync(path) ? NodeFs.readFileSync(path, "utf8").split("\n").length - 1 : 0
const completed = (runDir: string) => {
  const p = NodePath.join(runDir, "state.json")
  return NodeFs.existsSync(p) ? (JSON.parse(NodeFs.readFileSync(p, "utf8")) as { completed: number }).completed : 0
}

/** Starts a command and kills it (SIGKILL, or Ctrl-C's SIGINT) as soon as `when(runDir)` holds (checked every 20 ms). */
const killWhen = (args: ReadonlyArray<string>, out: string, when: (runDir: string) => boolean, signal: NodeJS.Signals = "SIGKILL") =>
  new Promise<void>((resolve) => {
    const child = NodeChild.spawn(node, [bin, ...args], { cwd: root, env, stdio: "ignore" })
    const timer = setInterval(() => {
      const runs = NodeFs.existsSync(out) ? NodeFs.readdirSync(out) : []
      if (runs.length > 0 && when(NodePath.join(out, runs[0]!))) child.kill(signal)
    }, 20)
    child.on("exit", () => {
      clearInterval(timer)
      resolve()
    })
  })

/**
 * A short tiny run (one StepAgent round, SFT checkpointed every step, 2 test episodes) to the end in `whole`, and the
 * same run in `parts` killed (SIGKILL) after its first checkpoint: the killed run's directory.
 */
const wholeAndKilled = (whole: string, parts: string): string => {
  const short = ["--set", "stages.1.iterations=1", "--set", "stages.2.n=2", "--set", "stages.2.trainEpisodes=0", "--set", "stages.0.checkpointEvery=1"]
  const w = cli(["run", "pipelines/tiny.ts", "--out", whole, ...short])
  expect(w.status, w.stderr).toBe(0)
  const killed = NodeChild.spawnSync(node, [bin, "run", "pipelines/tiny.ts", "--out", parts, ...short], { cwd: root, encoding: "utf8", env: { ...env, STEPAGENT_FAILPOINT: "state.prune@1" } })
  expect(killed.signal).toBe("SIGKILL")
  return runDirOf(parts)
}

describe("stepagent resume", () => {
  it("a run killed at several moments and resumed equals the uninterrupted run", async () => {
    const a = NodePath.join(dir, "a")
    const first = cli(["run", "pipelines/tiny.ts", "--out", a])
    expect(first.status).toBe(0)
    const runA = runDirOf(a)
    // The run directory on the first line of stdout, the report's path on the last; logs go to stderr.
    const out = first.stdout.trim().split("\n")
    expect(out[0]).toBe(runA)
    expect(out.at(-1)).toBe(`report: ${NodePath.join(runA, "report.html")}`)

    const b = NodePath.join(dir, "b")
    // 1. killed mid-SFT, before any checkpoint
    await killWhen(["run", "pipelines/tiny.ts", "--out", b], b, (d) => lines(NodePath.join(d, "metrics.jsonl")) >= 2)
    const runB = runDirOf(b)
    expect(completed(runB)).toBe(0)
    // 2. resumed, killed once a StepAgent iteration has logged something after the SFT checkpoint
    await killWhen(["resume", runB], b, (d) => completed(d) >= 1 && lines(NodePath.join(d, "metrics.jsonl")) > 4)
    // 3. resumed, killed right after the next checkpoint
    const before = completed(runB)
    await killWhen(["resume", runB], b, (d) => completed(d) > before)
    // 4. resumed, interrupted with Ctrl-C (SIGINT) mid-unit: the current write finishes, the run stays resumable
    const before2 = completed(runB)
    const lines2 = lines(NodePath.join(runB, "metrics.jsonl"))
    await killWhen(["resume", runB], b, (d) => completed(d) === before2 && lines(NodePath.join(d, "metrics.jsonl")) > lines2, "SIGINT")
    // 5. resumed to the end
    const last = cli(["resume", runB])
    expect(last.status, last.stderr).toBe(0)

    expect(NodeFs.readFileSync(NodePath.join(runB, "eval/summary.json"), "utf8")).toBe(NodeFs.readFileSync(NodePath.join(runA, "eval/summary.json"), "utf8"))
    expect(withoutWallTime(NodePath.join(runB, "metrics.jsonl"))).toEqual(withoutWallTime(NodePath.join(runA, "metrics.jsonl")))
    const samples = (d: string) => NodeFs.readFileSync(NodePath.join(d, "samples/step-rewards.jsonl"), "utf8")
    expect(samples(runA).split("\n").length).toBeGreaterThan(2)
    expect(samples(runB)).toBe(samples(runA))

    // A complete run: nothing to resume, a one-line reason and a non-zero exit.
    const again = cli(["resume", runB])
    expect(again.status).not.toBe(0)
    expect(again.stderr).toMatch(/nothing to resume/)
  }, 240_000)

  it("an SFT epoch cut into checkpointed parts trains as the whole epoch, and a run killed after a part resumes exactly", () => {
    const whole = NodePath.join(dir, "d")
    const parts = NodePath.join(dir, "e")
    const short = ["--set", "stages.1.iterations=1", "--set", "stages.2.n=2", "--set", "stages.2.trainEpisodes=0"]
    const w = cli(["run", "pipelines/tiny.ts", "--out", whole, ...short])
    expect(w.status, w.stderr).toBe(0)
    // one optimizer step a unit, killed (SIGKILL) once the first part's checkpoint and state.json are written
    const killed = NodeChild.spawnSync(node, [bin, "run", "pipelines/tiny.ts", "--out", parts, ...short, "--set", "stages.0.checkpointEvery=1"], {
      cwd: root,
      encoding: "utf8",
      env: { ...env, STEPAGENT_FAILPOINT: "state.prune@1" }
    })
    expect(killed.signal).toBe("SIGKILL")
    const runE = runDirOf(parts)
    const state = JSON.parse(NodeFs.readFileSync(NodePath.join(runE, "state.json"), "utf8")) as { completed: number; units: number }
    expect(state.completed).toBe(1)
    const runD = runDirOf(whole)
    const sftSteps = withoutWallTime(NodePath.join(runD, "metrics.jsonl")).filter((l) => l.includes('"stage":"sft"')).length
    const epochs = (JSON.parse(NodeFs.readFileSync(NodePath.join(runD, "config.json"), "utf8")) as { config: { stages: Array<{ epochs?: number }> } }).config.stages[0]!.epochs!
    expect(state.units).toBe(sftSteps + 2) // every SFT step its own unit, then the StepAgent iteration and the evaluation
    expect(sftSteps).toBeGreaterThan(epochs) // an epoch is more than one part
    const resumed = cli(["resume", runE])
    expect(resumed.status, resumed.stderr).toBe(0)
    expect(NodeFs.readFileSync(NodePath.join(runE, "eval/summary.json"), "utf8")).toBe(NodeFs.readFileSync(NodePath.join(runD, "eval/summary.json"), "utf8"))
    expect(withoutWallTime(NodePath.join(runE, "metrics.jsonl"))).toEqual(withoutWallTime(NodePath.join(runD, "metrics.jsonl")))
  }, 240_000)

  it("a run on one wasm thread resumed on two equals the uninterrupted run (thread counts do not change wasm's numbers)", () => {
    const whole = NodePath.join(dir, "f")
    const parts = NodePath.join(dir, "g")
    const runG = wholeAndKilled(whole, parts)
    const resumed = cli(["resume", runG, "--threads", "2"])
    expect(resumed.status, resumed.stderr).toBe(0)
    expect(resumed.stderr).toMatch(/2 wasm threads/)
    const runF = runDirOf(whole)
    expect(NodeFs.readFileSync(NodePath.join(runG, "eval/summary.json"), "utf8")).toBe(NodeFs.readFileSync(NodePath.join(runF, "eval/summary.json"), "utf8"))
    expect(withoutWallTime(NodePath.join(runG, "metrics.jsonl"))).toEqual(withoutWallTime(NodePath.join(runF, "metrics.jsonl")))
  }, 240_000)

  it("a run whose config predates a field resumes exactly with the field's default; an edited config is refused", () => {
    const whole = NodePath.join(dir, "h")
    const parts = NodePath.join(dir, "i")
    const runI = wholeAndKilled(whole, parts)
    const configPath = NodePath.join(runI, "config.json")
    type Stages = { stages: Array<Record<string, unknown>> }
    const file = JSON.parse(NodeFs.readFileSync(configPath, "utf8")) as { config: Stages; hash: string }
    // edited after the run started (its hash not updated): refused, and the run is left as it was
    const edited = structuredClone(file)
    edited.config.stages[1]!["entropyCoef"] = 0.5
    NodeFs.writeFileSync(configPath, JSON.stringify(edited))
    const refused = cli(["resume", runI])
    expect(refused.status).not.toBe(0)
    expect(refused.stderr).toMatch(/no longer matches its hash \(edited\?\)/)
    // written by code that had no `spareExpertPrefix` yet (the field absent, the hash of that config): resumes, and the
    // field's default (off) reproduces the uninterrupted run
    const older = structuredClone(file)
    expect(older.config.stages[1]).toHaveProperty("spareExpertPrefix", false)
    delete older.config.stages[1]!["spareExpertPrefix"]
    older.hash = Pipeline.hash(older.config)
    NodeFs.writeFileSync(configPath, JSON.stringify(older))
    const resumed = cli(["resume", runI])
    expect(resumed.status, resumed.stderr).toBe(0)
    const runH = runDirOf(whole)
    expect(NodeFs.readFileSync(NodePath.join(runI, "eval/summary.json"), "utf8")).toBe(NodeFs.readFileSync(NodePath.join(runH, "eval/summary.json"), "utf8"))
    expect(withoutWallTime(NodePath.join(runI, "metrics.jsonl"))).toEqual(withoutWallTime(NodePath.join(runH, "metrics.jsonl")))
  }, 240_000)

  it("a resume on another backend is refused: it could not be exact", () => {
    const out = NodePath.join(dir, "c")
    const r = NodeChild.spawnSync(node, [bin, "run", "pipelines/tiny.ts", "--out", out, "--set", "stages.2.n=2"], { cwd: root, encoding: "utf8", env })
    expect(r.status).toBe(0)
    const runC = runDirOf(out)
    const state = JSON.parse(NodeFs.readFileSync(NodePath.join(runC, "state.json"), "utf8")) as Record<string, unknown>
    NodeFs.writeFileSync(NodePath.join(runC, "state.json"), JSON.stringify({ ...state, completed: 1 }))
    const resumed = NodeChild.spawnSync(node, [bin, "resume", runC, "--backend", "cpu"], { cwd: root, encoding: "utf8", env })
    expect(resumed.status).not.toBe(0)
    expect(resumed.stderr).toMatch(/could not be exact/)
  }, 120_000)
})
