/**
 * Benchmark `dataImport`: `stepagent data import` of an ETO JSONL file, run as a child process.
 * Target (issue 2): >= 20,000 steps/s with peak RSS <= 300 MB whatever the file size. Two file sizes
 * show that peak RSS does not grow with the file. Wall time includes the CLI's start-up (reported apart).
 *
 * Benchmark `parquetImport`: the same trajectories exported as Parquet (`data export --format parquet`,
 * timed too), then `data import --format parquet`, each a child process. Target (issue 15): >= 20,000
 * steps/s at <= 300 MB peak RSS on a 500k-step file.
 */
import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Rng from "../../src/random/Rng.ts"

const root = NodePath.resolve(import.meta.dirname, "../..")
const node = NodePath.join(root, "node_modules/.bin/node")
const bin = NodePath.join(root, "bin/stepagent.ts")

const targetStepsPerSecond = 20_000
const targetPeakRssMb = 300
const sizes = [100_000, 500_000] // steps: a small file and one five times larger
const runs = 3 // median of three runs per size

/** The environments' seeded PRNG (mulberry32): the file is the same on every run. */
const prng = (seed: number): (() => number) => Rng.make(seed).next

const colors = ["blue", "red", "green", "black", "white", "navy", "heather grey", "pink", "olive", "beige"]
const items = ["t-shirt", "running shoes", "wireless headphones", "coffee mug", "wallet", "yoga mat", "desk lamp", "backpack"]

/**
 * Writes a JSONL of ETO webshop-like records totalling `steps` steps (2 to 14 a record, observations of
 * a few hundred bytes, ReAct assistant turns); returns its size in bytes.
 */
export const generate = async (path: string, steps: number, seed: number): Promise<number> => {
  const r = prng(seed)
  const pick = <T>(xs: ReadonlyArray<T>): T => xs[Math.floor(r() * xs.length)]!
  const product = (): string => `${pick(colors)} ${pick(items)}`
  const asin = (): string => `B0${Math.floor(r() * 36 ** 8).toString(36).toUpperCase().padStart(8, "0")}`
  const out = NodeFs.createWriteStream(path)
  let left = steps
  let id = 0
  let bytes = 0
  while (left > 0) {
    const n = Math.min(left, 2 + Math.floor(r() * 13))
    left -= n
    const want = product()
    const conversations = [
      { from: "human", value: "You are web shopping.\nI will give you instructions about what to do.\nEvery round I will give you an observation and a list of available actions, you have to respond an action based on the state and instruction.\nYour response should use the following format:\n\nThought: I think ...\nAction: click[something]" },
      { from: "gpt", value: "OK" }
    ]
    for (let s = 0; s < n; s++) {
      const listing = Array.from({ length: 4 }, () => `[SEP] ${asin()} [SEP] ${product()}, Size ${pick(["S", "M", "L"])} [SEP] $${(r() * 100).toFixed(2)}`).join(" ")
      conversations.push(
        { from: "human", value: `Observation:\nInstruction: [SEP] i need a ${want} [SEP] Back to Search [SEP] Page ${s + 1} (Total results: ${Math.floor(r() * 500)}) [SEP] Next > ${listing}` },
        { from: "gpt", value: r() < 0.8 ? `Thought: I think the ${want} at ${asin()} fits.\nAction: click[${asin()}]` : `search[${want}]` }
      )
    }
    const line = `${JSON.stringify({ id: `webshop_${id++}`, conversations, reward: Math.round(r() * 100) / 100 })}\n`
    bytes += Buffer.byteLength(line)
    if (!out.write(line)) await new Promise<void>((resolve) => out.once("drain", () => resolve()))
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())))
  return bytes
}

interface Run {
  readonly seconds: number
  readonly peakRssMb: number
  readonly summary: { readonly read: number; readonly written: number; readonly rejected: number }
}

/** Runs the CLI under /usr/bin/time: wall seconds, peak RSS, and the summary it printed. */
const runCli = (args: ReadonlyArray<string>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = NodeChild.spawn("/usr/bin/time", ["-f", "maxrss_kb=%M", node, bin, ...args], { cwd: root })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => {
      const seconds = (performance.now() - t0) / 1000
      const rss = /maxrss_kb=(\d+)/.exec(stderr)
      if (code !== 0 || rss === null) return reject(new Error(`stepagent ${args.join(" ")} exited ${code}: ${stderr.slice(0, 500)}`))
      resolve({ seconds, peakRssMb: Number(rss[1]) / 1024, summary: JSON.parse(stdout) as Run["summary"] })
    })
  })

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits

const dataImport = async (): Promise<unknown> => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "bench-import-"))
  try {
    // Start-up alone: the CLI importing an empty file.
    const empty = NodePath.join(dir, "empty.jsonl")
    NodeFs.writeFileSync(empty, "")
    const startup = median(await sequence(runs, () => runCli(["data", "import", empty, "--format", "eto", "--env", "webshop", "--out", NodePath.join(dir, "empty.arrows")]))
      .then((rs) => rs.map((r) => r.seconds)))
    const bySize: Array<Record<string, unknown>> = []
    for (const steps of sizes) {
      const input = NodePath.join(dir, `eto-${steps}.jsonl`)
      const bytes = await generate(input, steps, 7)
      const results = await sequence(runs, () => runCli(["data", "import", input, "--format", "eto", "--env", "webshop", "--out", NodePath.join(dir, `eto-${steps}.arrows`)]))
      const seconds = median(results.map((r) => r.seconds))
      bySize.push({
        steps,
        records: results[0]!.summary.read,
        rejected: results[0]!.summary.rejected,
        fileMb: round(bytes / 2 ** 20, 1),
        outputMb: round(NodeFs.statSync(NodePath.join(dir, `eto-${steps}.arrows`)).size / 2 ** 20, 1),
        medianSeconds: round(seconds, 2),
        stepsPerSecond: Math.round(steps / seconds),
        mbPerSecond: round(bytes / 2 ** 20 / seconds, 1),
        peakRssMb: round(Math.max(...results.map((r) => r.peakRssMb)), 1)
      })
      NodeFs.rmSync(input, { force: true })
    }
    const slowest = Math.min(...bySize.map((s) => s.stepsPerSecond as number))
    const peak = Math.max(...bySize.map((s) => s.peakRssMb as number))
    return {
      startupSeconds: round(startup, 2),
      sizes: bySize,
      rssGrowthMb: round((bySize[bySize.length - 1]!.peakRssMb as number) - (bySize[0]!.peakRssMb as number), 1),
      targets: { stepsPerSecond: targetStepsPerSecond, peakRssMb: targetPeakRssMb },
      met: { stepsPerSecond: slowest >= targetStepsPerSecond, peakRssMb: peak <= targetPeakRssMb }
    }
  } finally {
    NodeFs.rmSync(dir, { recursive: true, force: true })
  }
}

const parquetImport = async (): Promise<unknown> => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "bench-parquet-"))
  try {
    const bySize: Array<Record<string, unknown>> = []
    for (const steps of sizes) {
      // The same records as dataImport's, through the CLI: ETO JSONL -> .arrows -> Parquet.
      const jsonl = NodePath.join(dir, `eto-${steps}.jsonl`)
      await generate(jsonl, steps, 7)
      const arrows = NodePath.join(dir, `eto-${steps}.arrows`)
      await runCli(["data", "import", jsonl, "--format", "eto", "--env", "webshop", "--out", arrows])
      NodeFs.rmSync(jsonl, { force: true })
      const parquet = NodePath.join(dir, `chat-${steps}.parquet`)
      const exports = await sequence(runs, () => runCli(["data", "export", arrows, "--format", "parquet", "--out", parquet]))
      const bytes = NodeFs.statSync(parquet).size
      const out = NodePath.join(dir, `back-${steps}.arrows`)
      const results = await sequence(runs, () => runCli(["data", "import", parquet, "--format", "parquet", "--env", "webshop", "--out", out]))
      const seconds = median(results.map((r) => r.seconds))
      const exportSeconds = median(exports.map((r) => r.seconds))
      bySize.push({
        steps,
        records: results[0]!.summary.read,
        rejected: results[0]!.summary.rejected,
        fileMb: round(bytes / 2 ** 20, 1),
        medianSeconds: round(seconds, 2),
        stepsPerSecond: Math.round(steps / seconds),
        peakRssMb: round(Math.max(...results.map((r) => r.peakRssMb)), 1),
        export: {
          medianSeconds: round(exportSeconds, 2),
          stepsPerSecond: Math.round(steps / exportSeconds),
          peakRssMb: round(Math.max(...exports.map((r) => r.peakRssMb)), 1)
        }
      })
      for (const f of [arrows, parquet, out]) NodeFs.rmSync(f, { force: true })
    }
    // The target is stated on the 500k-step file (the 100k one spends a third of its time starting the CLI).
    const largest = bySize[bySize.length - 1]!
    const peak = Math.max(...bySize.map((s) => s.peakRssMb as number))
    return {
      sizes: bySize,
      rssGrowthMb: round((largest.peakRssMb as number) - (bySize[0]!.peakRssMb as number), 1),
      targets: { stepsPerSecond: targetStepsPerSecond, peakRssMb: targetPeakRssMb, onSteps: largest.steps },
      met: { stepsPerSecond: (largest.stepsPerSecond as number) >= targetStepsPerSecond, peakRssMb: peak <= targetPeakRssMb }
    }
  } finally {
    NodeFs.rmSync(dir, { recursive: true, force: true })
  }
}

/** Runs `f` `n` times, one after another (never in parallel: 2 cores). */
const sequence = async <A>(n: number, f: () => Promise<A>): Promise<Array<A>> => {
  const out: Array<A> = []
  for (let i = 0; i < n; i++) out.push(await f())
  return out
}

export const entries: Record<string, () => Promise<unknown>> = { dataImport, parquetImport }
