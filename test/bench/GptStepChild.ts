/**
 * One configuration of the GPT training-step benchmark, in its own process (tfjs is started once per process):
 * `node test/bench/GptStepChild.ts <threads> <matmul> <steps>` prints one JSON line
 * `{backend, matmul, threads, seconds, cpuSeconds, steps, stepSeconds, stepCpuSeconds, losses}` (seconds: the median
 * wall time of the timed steps after one warm-up step; cpuSeconds: the median CPU time of the process, all threads). `--profile` adds the kernels that took the time.
 */
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import * as BackendOptions from "../../src/model/backend/BackendOptions.ts"
import * as TfjsInit from "../../src/model/backend/TfjsInit.ts"
import * as TinyGpt from "./TinyGpt.ts"

const [threadsArg = "1", matmulArg = "auto", stepsArg = "3"] = process.argv.slice(2).filter((a) => !a.startsWith("--"))
const profile = process.argv.includes("--profile")
const matmul = BackendOptions.matmulChoices.find((m) => m === matmulArg) ?? "auto"

const started = await Effect.runPromise(Effect.result(TfjsInit.initialise({ backend: "wasm", threads: Number(threadsArg), matmul }, {})))
if (started._tag === "Failure") {
  process.stderr.write(`stepagent: ${started.failure.message}\n`)
  process.exit(1)
}
const info = started.success
const config = TinyGpt.benchConfig
const model = TinyGpt.make(config, 1)
/** Adam at GPT-2 small's learning rate: the value only sets how much state the step updates, not its cost. */
const optimizer = tf.train.adam(6e-4)
const { ids, targets } = TinyGpt.batch(config, 7)

/** Wall time of one step, and the CPU time the process spent in it (all threads: a check on a busy machine). */
const time = (): { seconds: number; cpuSeconds: number; loss: number } => {
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const loss = TinyGpt.step(model, optimizer, ids, targets)
  const c = process.cpuUsage(c0)
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6, loss }
}

const warmUp = time() // XNNPACK operators, Adam's slots, the kernels' first calls
const runs = Array.from({ length: Number(stepsArg) }, time)
const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

let kernels: Record<string, number> | undefined
if (profile) {
  const p = await tf.profile(() => {
    TinyGpt.step(model, optimizer, ids, targets)
  })
  const byKernel = new Map<string, number>()
  for (const k of p.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs))
  kernels = Object.fromEntries([...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, ms]) => [k, Math.round(ms)]))
}

const round = (x: number): number => Number(x.toFixed(3))
process.stdout.write(
  JSON.stringify({
    backend: info.name,
    matmul: info.matmul,
    threads: Math.max(info.threads.wasm, info.threads.blas),
    seconds: round(median(runs.map((r) => r.seconds))),
    cpuSeconds: round(median(runs.map((r) => r.cpuSeconds))),
    steps: runs.length,
    stepSeconds: runs.map((r) => round(r.seconds)),
    stepCpuSeconds: runs.map((r) => round(r.cpuSeconds)),
    // The loss before each step, warm-up first: the same on every path (same seed, same data) to 4 decimals.
    losses: [warmUp, ...runs].map((r) => Number(r.loss.toFixed(4))),
    ...(kernels !== undefined ? { kernelMs: kernels } : {})
  }) + "\n"
)
