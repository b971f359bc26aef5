/**
 * Benchmark `serve`: `stepagent serve` with the `tiny` model (pipelines/tiny.ts's: the copy head, a 300-token BPE,
 * SFT on qa; test/serve/Fixtures.ts) in a child process on the machine's best backend, driven over loopback by
 * closed-loop clients here (each sends its next request when its answer comes back) with the conversations of qa
 * episodes cut at every step (greedy, default max_tokens: what `stepagent eval` asks for).
 * Reports completions/s and latency percentiles at 1, 8 and 32 clients. Target: >= 200 completions/s.
 */
import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Readline from "node:readline"
import { NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import * as ChatFormat from "../../src/data/ChatFormat.ts"
import * as Expert from "../../src/env/Expert.ts"
import * as Registry from "../../src/env/Registry.ts"
import * as TfjsInit from "../../src/model/backend/TfjsInit.ts"
import * as Fixtures from "../serve/Fixtures.ts"

const root = NodePath.resolve(import.meta.dirname, "../..")
const target = 200

const percentile = (sorted: ReadonlyArray<number>, p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
const round = (x: number, digits = 3): number => Number(x.toPrecision(digits))

/** Request bodies: every state of the first 40 qa test episodes (system prompt, then turns up to an observation). */
const bodies = (): Array<string> => {
  const sim = Registry.make("qa", 0)
  return Array.from({ length: 40 }, (_, i) => Expert.trajectory(sim, `test:${i}`, { thoughts: false, seed: 0 })).flatMap((t) => {
    const messages = ChatFormat.encode(t).messages
    return t.steps.map((_, k) => JSON.stringify({ messages: messages.slice(0, 2 + 2 * k), temperature: 0 }))
  })
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
const cpuSeconds = (pid: number): number => {
  try {
    const fields = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return Number.NaN
  }
}

/**
 * `clients` closed-loop clients for `seconds`: completions/s, latency percentiles (ms), mean tokens, and the CPU time the
 * server used a completion (a figure that does not depend on what else runs on the machine, unlike the rate).
 */
const load = async (url: string, pid: number, requests: ReadonlyArray<string>, clients: number, seconds: number) => {
  const cpu0 = cpuSeconds(pid)
  const latencies: Array<number> = []
  let completionTokens = 0
  let promptTokens = 0
  let next = 0
  const t0 = performance.now()
  const end = t0 + seconds * 1000
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < end) {
      const body = requests[next++ % requests.length]!
      const start = performance.now()
      const r = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body })
      const json = (await r.json()) as { usage?: { prompt_tokens: number; completion_tokens: number } }
      if (json.usage === undefined) throw new Error(`serve answered ${r.status}: ${JSON.stringify(json).slice(0, 200)}`)
      latencies.push(performance.now() - start)
      completionTokens += json.usage.completion_tokens
      promptTokens += json.usage.prompt_tokens
    }
  }))
  const elapsed = (performance.now() - t0) / 1000
  latencies.sort((a, b) => a - b)
  return {
    clients,
    completions: latencies.length,
    completionsPerSecond: round(latencies.length / elapsed),
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
    meanCompletionTokens: round(completionTokens / latencies.length),
    meanPromptTokens: round(promptTokens / latencies.length),
    serverCpuMsPerCompletion: round((1000 * (cpuSeconds(pid) - cpu0)) / latencies.length)
  }
}

/** One server (`flags` added to its command line) under 1, 8 and 32 clients. */
const measure = async (checkpoint: string, flags: ReadonlyArray<string>) => {
  const child = NodeChild.spawn(NodePath.join(root, "node_modules/.bin/node"), [NodePath.join(root, "bin/stepagent.ts"), "serve", "--checkpoint", checkpoint, "--port", "0", ...flags], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stderr = ""
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()))
  try {
    const line = await new Promise<string>((resolve, reject) => {
      Readline.createInterface({ input: child.stdout! }).once("line", resolve)
      child.once("exit", (code) => reject(new Error(`serve exited (${code}): ${stderr.trim().split("\n").pop()}`)))
    })
    const url = (JSON.parse(line) as { url: string }).url
    const backend = stderr.split("\n").find((l) => l.includes("tensor backend"))?.replace(/^.*tensor backend/, "tensor backend") ?? "unknown"
    const requests = bodies()
    const pid = child.pid!
    await load(url, pid, requests, 8, 2) // warm-up: compile, JIT, caches
    const runs = [await load(url, pid, requests, 1, 8), await load(url, pid, requests, 8, 8), await load(url, pid, requests, 32, 10)]
    return { flags: flags.join(" "), backend, runs, best: Math.max(...runs.map((r) => r.completionsPerSecond)) }
  } finally {
    child.kill("SIGTERM")
  }
}

const serve = async () => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "bench-serve-"))
  try {
    // the checkpoint: trained here on the test backend (wasm, one thread), as the serve tests make it
    await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 1, matmul: "xnnpack" }, {}))
    const checkpoint = NodePath.join(dir, "unit-0001")
    await Effect.runPromise(Fixtures.qaCheckpoint(checkpoint).pipe(Effect.provide(NodeServices.layer)))
    // the defaults (the best backend on every core), and one thread: a model this small gains nothing from a second
    // BLAS thread, which then competes with the clients for the machine's other core
    const servers = [await measure(checkpoint, []), await measure(checkpoint, ["--threads", "1"])]
    const best = Math.max(...servers.map((s) => s.best))
    return {
      model: "tiny (copy head, 300-token BPE, context 128)",
      servers,
      bestCompletionsPerSecond: best,
      target,
      met: best >= target,
      loadAverage: NodeOs.loadavg().map((x) => round(x, 2)),
      note: "rates depend on what else runs on the machine (loadAverage); serverCpuMsPerCompletion much less"
    }
  } finally {
    NodeFs.rmSync(dir, { recursive: true, force: true })
  }
}

export const entries = { serve }
