/**
 * `trainThreads`: SFT steps of the quickstart's size (8 qa trajectories, `small` with its copy head, observation loss)
 * on one backend thread, on the backend's own threads (`--threads 2`), and with the passes shared by two threads
 * (`--threads 1 --train-threads 2`, src/stages/GradientThreads.ts), for each wasm matmul path this machine has. Each
 * configuration is a child `stepagent run` of 12 steps; the figure is the median `timing/sft_s` of its last 8. The
 * losses of every configuration of a path must agree to the bit (`sameLosses`), which is the feature's promise.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

const pipeline = `import { define } from ${JSON.stringify(path.join(root, "src/pipeline/Pipeline.ts"))}
export default define({
  name: "train-threads-bench", method: "sft", seed: 1, env: { name: "qa" },
  data: { generate: { n: 96, seeds: [0, 1, 2] } },
  tokenizer: { vocab: 1024 }, model: { preset: "small" },
  stages: [{ stage: "sft", epochs: 1, trajectories: 96, learningRate: 2e-3 }]
})
`

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** One child run: the median seconds of its last 8 steps and its losses. */
const run = (dir: string, matmul: string, flags: ReadonlyArray<string>): { readonly seconds: number; readonly losses: string } => {
  const out = fs.mkdtempSync(path.join(dir, "run-"))
  execFileSync(process.execPath, [path.join(root, "bin/stepagent.ts"), "run", "--out", out, "--matmul", matmul, ...flags, path.join(dir, "pipeline.ts")], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, STEPAGENT_THREADS: "", STEPAGENT_TRAIN_THREADS: "" }
  })
  const runDir = fs.readdirSync(out).map((d) => path.join(out, d)).find((d) => fs.existsSync(path.join(d, "metrics.jsonl")))!
  const records = fs.readFileSync(path.join(runDir, "metrics.jsonl"), "utf8").split("\n").filter((l) => l.includes("\"loss/sft\""))
    .map((l) => JSON.parse(l) as Readonly<Record<string, number>>) // metrics.jsonl: one flat record a line
  return {
    seconds: median(records.slice(-8).map((r) => r["timing/sft_s"]!)),
    losses: records.map((r) => r["loss/sft"]).join(",")
  }
}

const openBlasLoads = (): boolean => {
  try {
    execFileSync(process.execPath, ["-e", "require('@stepagent/openblas-matmul')"], { cwd: root, stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

const trainThreads = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stepagent-train-threads-"))
  fs.writeFileSync(path.join(dir, "pipeline.ts"), pipeline)
  const out: Record<string, unknown> = {}
  for (const matmul of openBlasLoads() ? ["xnnpack", "openblas"] : ["xnnpack"]) {
    const one = run(dir, matmul, ["--threads", "1"])
    const two = run(dir, matmul, ["--threads", "2"])
    const shared = run(dir, matmul, ["--threads", "1", "--train-threads", "2"])
    out[matmul] = {
      oneThreadSeconds: one.seconds,
      backendThreadsSeconds: two.seconds,
      sharedSeconds: shared.seconds,
      speedupOverOne: one.seconds / shared.seconds,
      speedupOverBackendThreads: two.seconds / shared.seconds,
      // XNNPACK's threads change no number; OpenBLAS's threaded driver may (docs/pipelines.md), so there only the
      // one-thread run is the reference
      sameLosses: shared.losses === one.losses && (matmul === "openblas" || two.losses === one.losses)
    }
  }
  fs.rmSync(dir, { recursive: true, force: true })
  return out
}

/**
 * `evalThreads`: `stepagent eval` of the bench pipeline's checkpoint (12 SFT steps) on 64 qa test episodes (4 waves of
 * 16) on one thread, on two backend threads (`--threads 2`) and on two evaluation threads (`--eval-threads 2`,
 * src/cluster/ThreadDispatcher.ts), XNNPACK; the wall time of each child process (start-up included), median of 3, and
 * whether the three summaries agree (`sameSummary`, the feature's promise).
 */
const evalThreads = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stepagent-eval-threads-"))
  fs.writeFileSync(path.join(dir, "pipeline.ts"), pipeline)
  const out = fs.mkdtempSync(path.join(dir, "run-"))
  const env = { ...process.env, STEPAGENT_THREADS: "", STEPAGENT_TRAIN_THREADS: "" }
  const cli = (args: ReadonlyArray<string>) =>
    execFileSync(process.execPath, [path.join(root, "bin/stepagent.ts"), ...args], { stdio: ["ignore", "pipe", "pipe"], env, encoding: "utf8" })
  cli(["run", "--out", out, "--matmul", "xnnpack", path.join(dir, "pipeline.ts")])
  const runDir = fs.readdirSync(out).map((d) => path.join(out, d)).find((d) => fs.existsSync(path.join(d, "metrics.jsonl")))!
  const timed = (flags: ReadonlyArray<string>) => {
    const seconds: Array<number> = []
    let summary = ""
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now()
      summary = cli(["eval", "--checkpoint", runDir, "--env", "qa", "--n", "64", "--json", "--matmul", "xnnpack", ...flags]).trim()
      seconds.push((performance.now() - t0) / 1000)
    }
    return { seconds: median(seconds), summary }
  }
  const one = timed(["--eval-threads", "1"])
  const backend = timed(["--threads", "2", "--eval-threads", "1"])
  const shared = timed(["--eval-threads", "2"])
  fs.rmSync(dir, { recursive: true, force: true })
  return {
    oneThreadSeconds: one.seconds,
    backendThreadsSeconds: backend.seconds,
    sharedSeconds: shared.seconds,
    speedupOverOne: one.seconds / shared.seconds,
    speedupOverBackendThreads: backend.seconds / shared.seconds,
    sameSummary: one.summary === shared.summary && backend.summary === one.summary
  }
}

export const entries: Record<string, () => Promise<unknown>> = { trainThreads, evalThreads }
