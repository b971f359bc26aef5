/**
 * STACK.md's GPT training step (batch 8, seq 256, d_model 256, 4 layers, 8 heads, vocab 512) with the OpenBLAS
 * matmuls on 2 threads, and its PyTorch twin (test/bench/gpt_step_torch.py, one thread) in the same run.
 *   npm run bench --silent -- --only gptStepOpenblas --json
 * `torchGptStep` is exported for the `gptStep` entry (GptStep.bench.ts) to fill its `torchSeconds` and `ratio`.
 */
import { execFile } from "node:child_process"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const here = Path.dirname(fileURLToPath(import.meta.url))
const run = promisify(execFile)

/** Timed steps per child run, after one warm-up step (the median over runs is reported). */
const steps = 4

/** The target: OpenBLAS on 2 cores within this factor of PyTorch on one thread. */
const targetRatio = 1.5

/** PyTorch's time for this step recorded in STACK.md (1.13 + OpenBLAS, one thread, another run): a labelled fallback. */
const stackReference = { seconds: [0.35, 0.44], source: "STACK.md: PyTorch 1.13 + OpenBLAS, 1 thread, measured in another run" } as const

/** The interpreters tried for torch, in order: STEPAGENT_PYTHON, then PATH's python3, then Debian's (python3-torch). */
const pythons = (): ReadonlyArray<string> =>
  [...new Set([process.env["STEPAGENT_PYTHON"], "python3", "/usr/bin/python3"].filter((p): p is string => p !== undefined && p !== ""))]

export interface TorchResult {
  readonly seconds: number | null
  readonly reason?: string
  readonly stepSeconds?: ReadonlyArray<number>
  readonly threads?: number
  readonly torch?: string
  readonly python?: string
  readonly loss?: number
}

/**
 * The PyTorch twin's median step time on one thread (torch intra-op and its BLAS both pinned to 1), or null with
 * the reason when no interpreter here imports torch.
 */
export const torchGptStep = async (): Promise<TorchResult> => {
  const reasons: Array<string> = []
  for (const python of pythons()) {
    const out = await run(python, [Path.join(here, "gpt_step_torch.py"), "--threads", "1", "--steps", String(steps)], {
      env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" },
      timeout: 600_000 // a step is ~0.5 s; minutes mean something is wrong
    }).then(
      ({ stdout }) => JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as TorchResult,
      (e: unknown) => ({ seconds: null, reason: `${python}: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}` })
    )
    if (out.seconds !== null) return { ...out, python }
    reasons.push(out.reason ?? `${python}: no result`)
  }
  return { seconds: null, reason: `no python3 here imports torch (${reasons.join("; ")})` }
}

interface StepResult {
  readonly backend: string
  readonly matmul: string
  readonly threads: number
  readonly seconds: number
  readonly stepSeconds: ReadonlyArray<number>
  /** CPU seconds of the process in each timed step (all threads). */
  readonly stepCpuSeconds?: ReadonlyArray<number>
}

/** One GptStepChild run (the backend engineer's step on TinyGpt): threads, matmul path. */
const tfjsStep = async (threads: number, matmul: string): Promise<StepResult> => {
  const { stdout } = await run(process.execPath, [Path.join(here, "GptStepChild.ts"), String(threads), matmul, String(steps)], {
    env: { ...process.env, STEPAGENT_OPENBLAS_ADDON: "" },
    timeout: 600_000
  })
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as StepResult
}

const round = (x: number) => Number(x.toFixed(3))


const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** Rounds of (ours, PyTorch), interleaved so that both see the same machine (it is shared and often busy). */
const rounds = 2

export const entries: Record<string, () => Promise<unknown>> = {
  gptStepOpenblas: async () => {
    const ours: Array<StepResult> = []
    const torch: Array<TorchResult> = []
    for (let r = 0; r < rounds; r++) {
      const step = await tfjsStep(2, "openblas")
      if (step.matmul !== "openblas") {
        return { skipped: "the OpenBLAS addon is not built here (install libopenblas-dev, then npm ci)", matmul: step.matmul }
      }
      ours.push(step)
      const t = await torchGptStep()
      torch.push(t)
      if (t.seconds === null) break // no torch here: one reason is enough
    }
    const oneThread = await tfjsStep(1, "openblas")
    const oursSteps = ours.flatMap((o) => o.stepSeconds)
    const seconds = round(median(oursSteps))
    const torchSteps = torch.flatMap((t) => t.stepSeconds ?? [])
    const torchSeconds = torchSteps.length === 0 ? null : round(median(torchSteps))
    const ratio = torchSeconds === null ? null : round(seconds / torchSeconds)
    return {
      config: { batch: 8, seq: 256, dModel: 256, layers: 4, heads: 8, vocab: 512 },
      matmul: "openblas",
      threads: 2,
      seconds,
      stepSeconds: oursSteps,
      stepCpuSeconds: ours.flatMap((o) => o.stepCpuSeconds ?? []),
      oneThread: { seconds: oneThread.seconds, stepSeconds: oneThread.stepSeconds },
      torchSeconds,
      ...(torchSeconds === null
        ? {
          torchReason: torch[0]?.reason ?? "not run",
          reference: {
            ...stackReference,
            ratio: stackReference.seconds.map((s) => round(seconds / s)),
            met: seconds <= targetRatio * stackReference.seconds[0]
          }
        }
        : { torch: { version: torch[0]?.torch, python: torch[0]?.python, threads: torch[0]?.threads, stepSeconds: torchSteps } }),
      ratio,
      target: `seconds <= ${targetRatio} x torchSeconds (PyTorch on 1 thread, same run, interleaved)`,
      met: ratio === null ? null : ratio <= targetRatio,
      load: Os.loadavg().map((l) => Number(l.toFixed(2))) // 1/5/15-min load: above 2 on 2 cores, other work shared the CPU
    }
  },
  torchGptStep
}
