/**
 * Benchmark `gptStep`: one Adam training step of STACK.md's GPT (batch 8, seq 256, d_model 256, 4 layers,
 * 8 heads, vocab 512; test/bench/TinyGpt.ts) on the wasm backend, on each matmul path:
 *   stock-1     tfjs-backend-wasm as shipped, 1 thread (the baseline: ~18 s in STACK.md)
 *   xnnpack-1   the replacement kernels, 1 thread                       target <= 2.5 s
 *   xnnpack-2   the replacement kernels on the threaded wasm build, 2 threads   target <= 1.6 s
 *   openblas-1, openblas-2   OpenBLAS as the 2-D multiply, where its addon is built (else the reason it is not)
 * Each path runs in its own process (tfjs starts once per process): one warm-up step, then the median of 3
 * (of 1 for stock, which is slow). `seconds` is wall time; `cpuSeconds` the process's CPU time per step (all
 * threads), a check when other work shares the machine (`load` is the 1-minute load average when the run began).
 * `lossesAgree`: every path computed the same first two losses (to 4 decimals).
 * The top level names the fastest path: `{backend, matmul, threads, seconds, ...}`.
 */
import { execFile } from "node:child_process"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as TinyGpt from "./TinyGpt.ts"
import { torchGptStep } from "./OpenBlas.bench.ts"

const child = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "GptStepChild.ts")

interface PathResult {
  readonly backend: string
  readonly matmul: string
  readonly threads: number
  readonly seconds: number
  readonly cpuSeconds: number
  readonly steps: number
  readonly stepSeconds: ReadonlyArray<number>
  readonly stepCpuSeconds: ReadonlyArray<number>
  readonly losses: ReadonlyArray<number>
}

/** One path in a fresh process: its result, or the one-line reason it could not run. */
const run = (threads: number, matmul: string, steps: number) =>
  new Promise<PathResult | { readonly error: string }>((resolve) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("STEPAGENT_")))
    // 15 minutes: the stock path takes ~40 s on a quiet machine, far longer on a busy one.
    execFile(process.execPath, [child, String(threads), matmul, String(steps)], { env, timeout: 15 * 60_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const line = stdout.trim().split("\n").pop() ?? ""
      if (error === null && line.startsWith("{")) return resolve(JSON.parse(line) as PathResult)
      const reason = (stderr.trim().split("\n").find((l) => l.startsWith("stepagent:") || l.includes("Error")) ?? error?.message ?? "no output")
      resolve({ error: reason.slice(0, 300) })
    })
  })

const paths: ReadonlyArray<readonly [name: string, threads: number, matmul: string, steps: number]> = [
  ["stock-1", 1, "stock", 1],
  ["xnnpack-1", 1, "xnnpack", 3],
  ["xnnpack-2", 2, "xnnpack", 3],
  ["openblas-1", 1, "openblas", 3],
  ["openblas-2", 2, "openblas", 3]
]

const gptStep = async (): Promise<unknown> => {
  const load = Number(Os.loadavg()[0].toFixed(2))
  const results: Record<string, PathResult | { readonly error: string }> = {}
  for (const [name, threads, matmul, steps] of paths) {
    process.stderr.write(`bench: gptStep ${name}...\n`)
    results[name] = await run(threads, matmul, steps)
  }
  const measured = Object.entries(results).filter((e): e is [string, PathResult] => "seconds" in e[1])
  const best = measured.reduce<[string, PathResult] | undefined>((b, e) => (b === undefined || e[1].seconds < b[1].seconds ? e : b), undefined)
  const seconds = (name: string): number | undefined => {
    const r = results[name]
    return r !== undefined && "seconds" in r ? r.seconds : undefined
  }
  const met = (name: string, target: number) => {
    const s = seconds(name)
    return { target, seconds: s ?? null, met: s !== undefined && s <= target }
  }
  const ratio = (name: string, key: "seconds" | "cpuSeconds") => {
    const base = results["stock-1"]
    const r = results[name]
    return base !== undefined && "seconds" in base && r !== undefined && "seconds" in r ? Number((base[key] / r[key]).toFixed(1)) : null
  }
  // PyTorch's single-thread step on the same model, measured in the same run (null with the reason when torch is absent).
  const torch = await torchGptStep()
  const bestSeconds = best?.[1].seconds
  // Same seed, same data: the first two losses (before the warm-up step and after it) agree on every path.
  const firstLosses = measured.map(([, r]) => r.losses.slice(0, 2).join(","))
  return {
    ...(best !== undefined
      ? { backend: best[1].backend, matmul: best[1].matmul, threads: best[1].threads, seconds: best[1].seconds, path: best[0] }
      : { error: "no path ran" }),
    torchSeconds: torch.seconds,
    ratio: torch.seconds === null || bestSeconds === undefined ? null : Number((bestSeconds / torch.seconds).toFixed(2)), // ours / PyTorch's; target <= 1.5
    ...(torch.seconds === null ? { torchReason: torch.reason ?? "unknown" } : {}),
    model: TinyGpt.benchConfig,
    load,
    speedupOverStock: { wall: ratio("xnnpack-1", "seconds"), cpu: ratio("xnnpack-1", "cpuSeconds") },
    lossesAgree: new Set(firstLosses).size <= 1,
    targets: { "xnnpack-1": met("xnnpack-1", 2.5), "xnnpack-2": met("xnnpack-2", 1.6) },
    paths: results
  }
}

export const entries: Record<string, () => Promise<unknown>> = { gptStep }

