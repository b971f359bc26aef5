/**
 * `dataInspect`: `stepagent data inspect --json` over a file of 1,000,000 steps (100,000 trajectories x
 * 10 steps, short texts), run as a child process several times. Reports steps/s (median, end to end:
 * process start to exit) and the child's peak RSS (from `/usr/bin/time -v`, or from the child itself
 * when `time` is missing) against the targets >= 200,000 steps/s and <= 300 MB.
 */
import { Effect, Stream } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as TrajectoryArrow from "../../src/data/TrajectoryArrow.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const node = path.join(root, "node_modules/.bin/node")
const bin = path.join(root, "bin/stepagent.ts")

const trajectories = 100_000 // x 10 steps = the 1,000,000 steps the target is stated for
const stepsPer = 10
const runs = 5 // odd, for a clean median; each run is ~2-5 s
const envs = ["shop", "house", "qa"]

const trajectory = (i: number): Trajectory => ({
  id: `traj-${i}`,
  env: envs[i % envs.length]!,
  taskId: `train:${i}`,
  instruction: `Find item ${i % 977} and buy it.`,
  ack: "OK",
  steps: Array.from({ length: stepsPer }, (_, j) => ({
    observation: `You see item ${(i * 7 + j) % 1000} on shelf ${j}.`,
    ...(j % 2 === 0 ? { thought: `I should look at shelf ${j + 1}.` } : {}),
    action: `go to shelf ${j + 1}`
  })),
  reward: (i % 5) / 4,
  success: i % 3 === 0,
  source: "generated:bench"
})

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const hasTime = fs.existsSync("/usr/bin/time")
// Without /usr/bin/time the child reports its own peak RSS on exit (a data: URL preload, no file needed).
const rssPreload = `data:text/javascript,process.on("exit",()=>process.stderr.write("maxrss_kb "+process.resourceUsage().maxRSS+"\\n"))`

const runOnce = (file: string): { readonly seconds: number; readonly rssMb: number; readonly out: string } => {
  const args = ["data", "inspect", file, "--json"]
  const t0 = performance.now()
  const r = hasTime
    ? spawnSync("/usr/bin/time", ["-v", node, bin, ...args], { encoding: "utf8", cwd: root, maxBuffer: 1 << 24 })
    : spawnSync(node, ["--import", rssPreload, bin, ...args], { encoding: "utf8", cwd: root, maxBuffer: 1 << 24 })
  const seconds = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`data inspect exited ${r.status}: ${r.stderr.slice(-500)}`)
  const kb = hasTime ? /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] : /maxrss_kb (\d+)/.exec(r.stderr)?.[1]
  return { seconds, rssMb: Number(kb) / 1024, out: r.stdout }
}

const dataInspect = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stepagent-bench-inspect-"))
  try {
    const file = path.join(dir, "bench.arrows")
    const g0 = performance.now()
    const rows = Stream.range(0, trajectories - 1).pipe(Stream.map(trajectory))
    await Effect.runPromise(rows.pipe(TrajectoryArrow.write(file)))
    const writeSeconds = (performance.now() - g0) / 1000
    // The CLI's own footprint (runtime, modules of every command) on a one-row file, for comparison.
    const tiny = path.join(dir, "tiny.arrows")
    await Effect.runPromise(Stream.make(trajectory(0)).pipe(TrajectoryArrow.write(tiny)))
    const baselineRssMb = Math.round(runOnce(tiny).rssMb)
    const results = Array.from({ length: runs }, () => runOnce(file))
    const stats = JSON.parse(results[0]!.out) as { steps: number; trajectories: number }
    if (stats.steps !== trajectories * stepsPer || stats.trajectories !== trajectories) {
      throw new Error(`inspect counted ${stats.trajectories} trajectories / ${stats.steps} steps`)
    }
    const stepsPerSecond = Math.round(stats.steps / median(results.map((r) => r.seconds)))
    const peakRssMb = Math.round(Math.max(...results.map((r) => r.rssMb)))
    return {
      steps: stats.steps,
      fileMb: Math.round(fs.statSync(file).size / 2 ** 20),
      writeStepsPerSecond: Math.round(stats.steps / writeSeconds),
      runs,
      seconds: results.map((r) => Number(r.seconds.toFixed(2))),
      stepsPerSecond,
      peakRssMb,
      baselineRssMb,
      rssSource: hasTime ? "/usr/bin/time -v" : "child process.resourceUsage().maxRSS",
      targets: { stepsPerSecond: 200_000, peakRssMb: 300 },
      met: { stepsPerSecond: stepsPerSecond >= 200_000, peakRssMb: peakRssMb <= 300 }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

export const entries: Record<string, () => Promise<unknown>> = { dataInspect }
