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

export const entries: Record<string, () => Promise<unknown>> = { trainThreads }
