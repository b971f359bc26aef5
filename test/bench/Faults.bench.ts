/**
 * Runs under faults, in figures: `npm run bench --silent -- --only faults --json`.
 * 1. SIGKILL at 23 deterministic points (src/fault/Failpoint.ts) spread over the tiny pipeline's life: SFT,
 *    the first checkpoint writes, sampling, reward training, PPO, the heatmap samples, checkpoint writes of every
 *    kind, evaluation, the report, and a second kill during the resume itself. Each killed run is resumed and
 *    compared with the uninterrupted run on every file that must be identical (test/pipeline/FaultRun.ts).
 * 2. A corrupted last checkpoint (flipped bytes, a truncated file, a flipped manifest digit, both kept checkpoints
 *    damaged): the one-line message, the fallback, identity.
 * 3. A full disk: the run directory on a tmpfs of several sizes (root only; reported as skipped elsewhere).
 * 4. A faulty AgentGym server (test/env/Faulty.ts) in front of the tiny pipeline's evaluation (`env.url`).
 * Takes ~15 min on 2 cores.
 */
import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { Effect, Stream } from "effect"
import * as TrajectoryArrow from "../../src/data/TrajectoryArrow.ts"
import * as Registry from "../../src/env/Registry.ts"
import * as Faulty from "../env/Faulty.ts"
import * as FaultRun from "../pipeline/FaultRun.ts"

/** Kill points: a failpoint, and optionally a second one hit during the first resume. */
const points: ReadonlyArray<{ readonly at: string; readonly during: string; readonly then?: string }> = [
  { at: "metrics@2", during: "SFT epoch 1" },
  { at: "metrics@5", during: "SFT epoch 2" },
  { at: "checkpoint.file@1", during: "the first checkpoint write (one file written)" },
  { at: "checkpoint.rename@1", during: "the first checkpoint write (complete, not renamed)" },
  { at: "state.write@1", during: "the first checkpoint in place, state.json not yet naming it" },
  { at: "state.prune@2", during: "after the second state.json, before older checkpoints are removed" },
  { at: "metrics@7", during: "StepAgent iteration 1: after sampling" },
  { at: "metrics@8", during: "StepAgent iteration 1: after reward training" },
  { at: "metrics@9", during: "StepAgent iteration 1: PPO" },
  { at: "metrics@11", during: "StepAgent iteration 1: second sampling batch" },
  { at: "samples.write@1", during: "heatmap samples appended, iteration 1 not checkpointed" },
  { at: "checkpoint.file@9", during: "the third checkpoint write (three of six files)" },
  { at: "metrics@16", during: "StepAgent iteration 2: reward training" },
  { at: "metrics@18", during: "StepAgent iteration 2: PPO" },
  { at: "checkpoint.rename@4", during: "the fourth checkpoint write (complete, not renamed)" },
  { at: "state.prune@4", during: "after the fourth state.json, before pruning" },
  { at: "metrics@23", during: "evaluation: test split done, train split not" },
  { at: "metrics@24", during: "evaluation: before the action-accuracy rung" },
  { at: "eval.episodes@1", during: "evaluation: episodes written, summary not" },
  { at: "checkpoint.file@21", during: "the final checkpoint write" },
  { at: "state.prune@5", during: "all units saved, before the report" },
  { at: "report.figure@3", during: "the report: three figures written" },
  { at: "state.write@1", then: "checkpoint.replace@1", during: "a resume killed while replacing the checkpoint the first kill left" }
]

const tmp = () => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "faults-bench-"))

const killPoints = (dir: string, reference: Record<string, string>) => {
  const rows = points.map((p, i) => {
    const out = NodePath.join(dir, `kill-${i}`)
    const killed = FaultRun.cli(["run", "pipelines/tiny.ts", "--out", out], p.at)
    const reached = killed.signal === "SIGKILL"
    const runDir = FaultRun.runDirOf(out)
    const completedAtKill = FaultRun.completed(runDir)
    let secondReached: boolean | undefined
    if (p.then !== undefined) secondReached = FaultRun.cli(["resume", runDir], p.then).signal === "SIGKILL"
    const resumed = FaultRun.cli(["resume", runDir])
    const diff = resumed.status === 0 ? FaultRun.differences(FaultRun.fingerprint(runDir), reference) : ["(resume failed)"]
    NodeFs.rmSync(out, { recursive: true, force: true })
    process.stderr.write(`faults: ${p.at}${p.then === undefined ? "" : ` then ${p.then}`}: ${reached ? "killed" : "NOT REACHED"}, completed ${completedAtKill}, resume ${resumed.status}, ${diff.length === 0 ? "identical" : `differs: ${diff.join(", ")}`}\n`)
    return {
      point: p.then === undefined ? p.at : `${p.at} then ${p.then}`,
      during: p.during,
      killed: reached && secondReached !== false,
      unitsCompletedAtKill: completedAtKill,
      resumed: resumed.status === 0,
      identical: resumed.status === 0 && diff.length === 0,
      ...(diff.length === 0 ? {} : { differs: diff, stderr: resumed.stderr.trim().split("\n").at(-1) })
    }
  })
  return {
    tried: rows.length,
    killed: rows.filter((r) => r.killed).length,
    survived: rows.filter((r) => r.resumed).length,
    identical: rows.filter((r) => r.identical).length,
    points: rows
  }
}

const corruption = (dir: string, reference: Record<string, string>) => {
  // killed during iteration 2's PPO: units 1..3 done, checkpoints unit-0002 and unit-0003 kept
  const cases: ReadonlyArray<{ readonly name: string; readonly damage: (runDir: string) => void }> = [
    { name: "flipped bytes in the policy weights", damage: (d) => FaultRun.flipBytes(NodePath.join(d, "checkpoints/unit-0003/policy.weights.bin")) },
    { name: "truncated reward-model optimizer moments", damage: (d) => FaultRun.truncate(NodePath.join(d, "checkpoints/unit-0003/reward.optimizer.bin")) },
    {
      name: "a flipped digit in the manifest (the policy optimizer's step)",
      damage: (d) => {
        const p = NodePath.join(d, "checkpoints/unit-0003/manifest.json")
        NodeFs.writeFileSync(p, NodeFs.readFileSync(p, "utf8").replace(/"step": (\d+)/, (_, n: string) => `"step": ${Number(n) + 1}`))
      }
    },
    { name: "manifest.json deleted", damage: (d) => NodeFs.rmSync(NodePath.join(d, "checkpoints/unit-0003/manifest.json")) },
    {
      name: "both kept checkpoints damaged",
      damage: (d) => {
        FaultRun.flipBytes(NodePath.join(d, "checkpoints/unit-0003/policy.weights.bin"))
        FaultRun.truncate(NodePath.join(d, "checkpoints/unit-0002/policy.weights.bin"))
      }
    }
  ]
  return cases.map((c, i) => {
    const out = NodePath.join(dir, `corrupt-${i}`)
    const killed = FaultRun.cli(["run", "pipelines/tiny.ts", "--out", out], "metrics@18")
    const runDir = FaultRun.runDirOf(out)
    const killedAtUnit = killed.signal === "SIGKILL" ? FaultRun.completed(runDir) : undefined
    c.damage(runDir)
    const resumed = FaultRun.cli(["resume", runDir])
    const messages = resumed.stderr.split("\n").filter((l) => / WARN |^stepagent:/.test(l))
    const row = {
      damage: c.name,
      killedAtUnit,
      resumeExit: resumed.status,
      messages,
      stackTrace: /\n\s+at /.test(resumed.stderr),
      identical: resumed.status === 0 ? FaultRun.differences(FaultRun.fingerprint(runDir), reference).length === 0 : false
    }
    NodeFs.rmSync(out, { recursive: true, force: true })
    process.stderr.write(`faults: corruption "${c.name}": exit ${row.resumeExit}, identical ${row.identical}\n`)
    return row
  })
}

const fullDisk = (dir: string, reference: Record<string, string>) => {
  const disk = NodePath.join(dir, "disk")
  if (!FaultRun.canMount(disk)) return { skipped: "mount -t tmpfs is not permitted here (needs root or CAP_SYS_ADMIN)" }
  // 8k: metrics.jsonl; 1200k: the second SFT checkpoint; 3m: the first StepAgent checkpoint; 5m: the fourth checkpoint
  return ["8k", "1200k", "3m", "5m"].map((size) => {
    FaultRun.mount(disk, size)
    try {
      const full = FaultRun.cli(["run", "pipelines/tiny.ts", "--out", disk])
      const runDir = FaultRun.runDirOf(disk)
      const left = NodeFs.readdirSync(NodePath.join(runDir, "checkpoints"))
      const saved = FaultRun.completed(runDir)
      FaultRun.remount(disk, "64m")
      const resumed = FaultRun.cli(["resume", runDir])
      const row = {
        tmpfs: size,
        exit: full.status,
        error: full.stderr.split("\n").filter((l) => l.startsWith("stepagent:")),
        stackTrace: /internal error|\n\s+at /.test(full.stderr),
        unitsSaved: saved,
        checkpointsLeft: left.filter((f) => f.startsWith("unit-")),
        resumeExit: resumed.status,
        identical: resumed.status === 0 && FaultRun.differences(FaultRun.fingerprint(runDir), reference).length === 0
      }
      process.stderr.write(`faults: full disk ${size}: exit ${row.exit}, saved ${saved}, resumed identical ${row.identical}\n`)
      return row
    } finally {
      FaultRun.umount(disk)
    }
  })
}

/** `stepagent <args>` without blocking this process's event loop (the faulty proxy lives in it). */
const cliAsync = (args: ReadonlyArray<string>) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = NodeChild.spawn(NodePath.join(FaultRun.root, "node_modules/.bin/node"), [NodePath.join(FaultRun.root, "bin/stepagent.ts"), ...args], {
      cwd: FaultRun.root,
      env: { ...process.env, STEPAGENT_BACKEND: "wasm", STEPAGENT_THREADS: "1", STEPAGENT_MATMUL: "xnnpack" }
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (b: Buffer) => stdout += b.toString())
    child.stderr.on("data", (b: Buffer) => stderr += b.toString())
    child.on("exit", (status) => resolve({ status, stdout, stderr }))
  })

const faultyServer = async (dir: string) => {
  const sim = Registry.make("qa", 0)
  // Per path: the n-th request and its fault (no `hang`: the client's default timeout is 30 s). The clean run makes
  // 12 /create, 12 /reset and 96 /step requests: the test split's 8 episodes (steps 1-64) meet a 500, a lost answer,
  // a dropped connection and slow answers one episode at a time; the train split's 4 (steps 65-96) a listener bounce
  // while they are created and a server restart after their first turn.
  const schedule: Faulty.Schedule = {
    "/create": { 2: "500", 4: "hangupAfter", 7: "hangup", 10: "bounce" },
    "/reset": { 3: "500", 5: "hangupAfter", 8: "slow" },
    "/step": { 4: "500", 12: "hangupAfter", 20: "hangup", 28: "slow", 36: "slow", 70: "restart" }
  }
  const run = async (name: string, s: Faulty.Schedule) => {
    const proxy = await Faulty.start(sim, s, { slowMs: 300, bounceMs: 150 })
    try {
      const out = NodePath.join(dir, name)
      const r = await cliAsync(["run", "pipelines/tiny.ts", "--out", out, "--set", `env.url=${proxy.url}`])
      const runDir = FaultRun.runDirOf(out)
      const summary = JSON.parse(NodeFs.readFileSync(NodePath.join(runDir, "eval/summary.json"), "utf8")) as {
        episodes: number
        terminations: Record<string, number>
        train: { episodes: number; terminations: Record<string, number> }
      }
      const episodes = await Effect.runPromise(Stream.runCollect(TrajectoryArrow.read(NodePath.join(runDir, "eval/episodes.arrows"))))
      return { exit: r.status, injected: { ...proxy.injected }, requests: Object.fromEntries(proxy.requests), summary, episodes: Array.from(episodes), evalLine: r.stdout.split("\n").find((l) => l.startsWith("eval:")) }
    } finally {
      await proxy.close()
    }
  }
  const clean = await run("clean", {})
  const faulty = await run("faulty", schedule)
  const tally = (t: Record<string, number>, episodes: number) => {
    const counted = Object.values(t).reduce((a, b) => a + b, 0)
    const failed = Object.entries(t).filter(([k]) => k.startsWith("error:")).reduce((a, [, v]) => a + v, 0)
    return { attempted: episodes, endedNormally: counted - failed, failedWithReason: failed, countsAddUp: counted === episodes, terminations: t }
  }
  // an episode that ended normally despite the faults around it is the clean run's, step for step
  const normal = faulty.episodes.filter((e) => !e.source.startsWith("eval:error:"))
  const sameAsClean = normal.filter((e) => JSON.stringify(e) === JSON.stringify(clean.episodes.find((c) => c.taskId === e.taskId))).length
  return {
    exit: faulty.exit,
    injected: faulty.injected,
    testSplit: tally(faulty.summary.terminations, faulty.summary.episodes),
    trainSplit: tally(faulty.summary.train.terminations, faulty.summary.train.episodes),
    normalEpisodesSameAsClean: `${sameAsClean}/${normal.length}`,
    cleanTerminations: { test: clean.summary.terminations, train: clean.summary.train.terminations },
    cleanRequests: clean.requests,
    requests: faulty.requests,
    evalLine: faulty.evalLine
  }
}

export const entries = {
  faults: async () => {
    const dir = tmp()
    try {
      const ref = FaultRun.cli(["run", "pipelines/tiny.ts", "--out", NodePath.join(dir, "reference")])
      if (ref.status !== 0) throw new Error(`the reference run failed: ${ref.stderr.trim().split("\n").at(-1)}`)
      const reference = FaultRun.fingerprint(FaultRun.runDirOf(NodePath.join(dir, "reference")))
      return {
        sigkill: killPoints(dir, reference),
        corruption: corruption(dir, reference),
        fullDisk: fullDisk(dir, reference),
        faultyServer: await faultyServer(dir)
      }
    } finally {
      NodeFs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
