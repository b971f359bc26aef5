/**
 * The paper's comparison (StepAgent, arXiv 2411.03817, Table 2 in spirit): every method on every built-in
 * environment and seed, evaluated on held-out test tasks, then the method x environment table with 95%
 * intervals and the paired differences (docs/report.md, `stepagent table`; SCIENCE.md, "Fair comparisons").
 *
 *   npx node pipelines/paper-table.ts [--out runs/paper-table] [--envs shop,house,qa] [--methods sft,...] (the paper's
 *                                     six by default; stepagent-oracle, the diagnostic ceiling, and
 *                                     stepagent-placebo, its shuffled control, when named)
 *                                     [--seeds 1,2,3] [--budget paper|smoke] [--cluster URL] [--dry-run]
 *                                     [--warm ENV:SEED=RUN_DIR ...]
 *
 * `--budget smoke` runs the same table at a toy scale (experiment.ts's smokeBudget: minutes in all; its numbers mean
 * nothing) to check a machine or a cluster end to end. `--cluster postgres://USER@HOST:PORT/DB` hands every run to a
 * worker of that cluster (`stepagent worker`, docs/scale-out.md): the SFT runs of all (environment, seed) pairs at
 * once, then each pair's other methods at once from its warm start; each worker runs one at a time. Paths must
 * mean the same on the workers (one machine, or --out and this checkout on a shared file system).
 *
 * Per (seed, environment), the SFT pipeline runs first; its final checkpoint is the shared warm start ("novice")
 * of the other methods (`init`), which then get the same budget (experiment.ts); it runs whenever one of them
 * needs it, even when --methods leaves sft out. Seeds go outermost, so the first seed's whole table is done
 * before the second seed starts.
 *
 * `--warm ENV:SEED=RUN_DIR` (repeatable) takes an evaluated run made elsewhere as that pair's SFT instead of running
 * one (house's ~100-minute SFT, e.g. pipelines/house-sft-2400-wide.ts's run of the seed): it must have trained exactly
 * as experiment.ts's sft of that environment and seed (every field but the name, the method and the data's count, which
 * need only cover the SFT's trajectories), else a one-line reason names the first field that differs. Its checkpoint is
 * the other methods' warm start and its evaluation the table's sft cell (`stepagent table --as RUN_DIR=sft`).
 *
 * Resumable, so it can be run in parts (`--envs qa --seeds 1`, later `--envs house,shop --seeds 1,2,3`):
 * - a run is recognised in `--out` by its config.json: the resolved pipeline holds every field of
 *   `experiment(env, method, { seed, init })` (so the budget, the seed and the SFT warm start must match;
 *   after changing a default outside experiment.ts, use a new --out);
 * - a matching run with eval/summary.json is complete and skipped (the earliest, when there are several);
 * - a matching run without it (killed, or failed) is continued with `stepagent resume`; when resume refuses
 *   (e.g. another backend), a new run starts;
 * - a failed run is reported and the others go on (the methods of a seed whose SFT failed are skipped);
 * - one invocation at a time per --out (paper-table.lock); Ctrl-C stops after the current run is cut, and
 *   the next invocation resumes it.
 * `--dry-run` prints the plan (skip / resume / run) and the table of the runs complete so far.
 *
 * Wall time per run (each attempt, resumes summed) and per invocation are kept in <out>/timings.json. At the
 * end, the table of every complete run in --out (all environments, methods and seeds found there, not only
 * those selected) is printed and written as table.md and table.json.
 */
import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as CommandDispatch from "../src/cluster/CommandDispatch.ts"
import { type Budget, type Env, envs, experiment, type Method, methods, paperMethods } from "./experiment.ts"

const usage = "usage: npx node pipelines/paper-table.ts [--out DIR] [--envs shop,house,qa] [--methods sft,sft-more,...] [--seeds 1,2,3] [--budget paper|smoke] [--cluster postgres://USER@HOST:PORT/DB] [--warm ENV:SEED=RUN_DIR ...] [--dry-run]"

const fail = (message: string): never => {
  process.stderr.write(`paper-table: ${message}\n${usage}\n`)
  process.exit(2)
}

const args = process.argv.slice(2)
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}
const known = new Set(["--out", "--envs", "--methods", "--seeds", "--seed", "--budget", "--cluster", "--warm"])
for (let i = 0; i < args.length; i++) {
  const a = args[i]!
  if (a === "--dry-run") continue
  if (!known.has(a)) fail(`unknown argument ${a}`)
  if (args[i + 1] === undefined || args[i + 1]!.startsWith("--")) fail(`${a} needs a value`)
  i++
}
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const list = (name: string, fallback: ReadonlyArray<string>): Array<string> => (flag(name) ?? fallback.join(",")).split(",").map((x) => x.trim()).filter((x) => x !== "")
const oneOf = <A extends string>(name: string, all: ReadonlyArray<A>, fallback: ReadonlyArray<A>): Array<A> => {
  const chosen = list(name, fallback)
  for (const x of chosen) if (!(all as ReadonlyArray<string>).includes(x)) fail(`--${name}: unknown ${JSON.stringify(x)} (one of ${all.join(", ")})`)
  // experiment.ts's order whatever the order given: the table's rows and columns come out the same in every part
  return all.filter((x) => chosen.includes(x))
}

const out = NodePath.resolve(flag("out") ?? "runs/paper-table") // a folder of its own: runs of another budget are never mixed in
const chosenEnvs: ReadonlyArray<Env> = oneOf("envs", envs, envs) // every environment: the paper's three families
// the paper's methods, the sft-more control included; the diagnostics stepagent-oracle and -placebo when asked for
const chosenMethods: ReadonlyArray<Method> = oneOf("methods", methods, paperMethods)
const seeds: ReadonlyArray<number> = (flag("seeds") ?? flag("seed") ?? "1,2,3").split(",").map((s) => { // SCIENCE.md: at least 3 seeds
  const n = Number(s.trim())
  return Number.isInteger(n) && n > 0 ? n : fail(`--seeds: ${JSON.stringify(s)} is not a positive integer`)
})
const dryRun = args.includes("--dry-run")
const budgetName = flag("budget") ?? "paper" // smoke: the same table at a toy scale, minutes in all (experiment.ts)
if (budgetName !== "paper" && budgetName !== "smoke") fail(`--budget: ${JSON.stringify(budgetName)} is not paper or smoke`)
const budget = budgetName as Budget
const clusterUrl = flag("cluster") // every run on a worker of this cluster (docs/scale-out.md); runs of different (env, seed) at once
const root = NodePath.resolve(import.meta.dirname, "..")
const node = process.execPath
const bin = NodePath.join(root, "bin/stepagent.ts")

if (!dryRun) NodeFs.mkdirSync(NodePath.join(out, "pipelines"), { recursive: true })

const writeAtomic = (path: string, text: string) => {
  NodeFs.writeFileSync(`${path}.tmp`, text)
  NodeFs.renameSync(`${path}.tmp`, path)
}
const minutes = (seconds: number) => `${(seconds / 60).toFixed(1)} min`

// ---- One invocation at a time: two would resume the same run directory at once.

const lockPath = NodePath.join(out, "paper-table.lock")
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0) // signal 0 only asks whether the process exists
    return true
  } catch (e) {
    return typeof e === "object" && e !== null && "code" in e && e.code === "EPERM"
  }
}
if (!dryRun) {
  const holder = NodeFs.existsSync(lockPath) ? Number(NodeFs.readFileSync(lockPath, "utf8").trim()) : undefined
  if (holder !== undefined && Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
    fail(`${out} is in use by process ${holder} (${lockPath}); wait for it, or use another --out`)
  }
  NodeFs.writeFileSync(lockPath, String(process.pid)) // absent, or left by a process that is gone
  process.on("exit", () => NodeFs.rmSync(lockPath, { force: true }))
}

// ---- Run directories of --out, and which experiment each one is.

interface Found {
  readonly dir: string
  readonly config: unknown
  readonly createdAt: string
  readonly complete: boolean
}

const scan = (): ReadonlyArray<Found> => {
  const found: Array<Found> = []
  if (!NodeFs.existsSync(out)) return found
  for (const name of NodeFs.readdirSync(out)) {
    const dir = NodePath.join(out, name)
    const configPath = NodePath.join(dir, "config.json")
    if (!NodeFs.existsSync(configPath)) continue
    try {
      const file = JSON.parse(NodeFs.readFileSync(configPath, "utf8")) as { readonly config?: unknown; readonly createdAt?: unknown }
      const createdAt = typeof file.createdAt === "string" ? file.createdAt : ""
      found.push({ dir, config: file.config, createdAt, complete: NodeFs.existsSync(NodePath.join(dir, "eval/summary.json")) })
    } catch {
      process.stderr.write(`paper-table: ${configPath} is not JSON; ignored\n`)
    }
  }
  // earliest first: the run that the others were (probably) paired with is kept whatever is added later
  return found.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.dir.localeCompare(b.dir))
}

/** The first field of `wanted` (a JSON value) that `actual` lacks or holds another value of, as a path; undefined when none. */
const difference = (actual: unknown, wanted: unknown, at = ""): string | undefined => {
  if (typeof wanted !== "object" || wanted === null) return actual === wanted ? undefined : at
  if (typeof actual !== "object" || actual === null) return at
  if (Array.isArray(wanted)) {
    if (!Array.isArray(actual) || actual.length !== wanted.length) return at
    for (const [i, w] of wanted.entries()) {
      const d = difference(actual[i], w, `${at}[${i}]`)
      if (d !== undefined) return d
    }
    return undefined
  }
  for (const [k, w] of Object.entries(wanted)) {
    const d = difference((actual as Record<string, unknown>)[k], w, at === "" ? k : `${at}.${k}`)
    if (d !== undefined) return d
  }
  return undefined
}
/** True when every field of `wanted` (a JSON value) is in `actual` with the same value. */
const contains = (actual: unknown, wanted: unknown): boolean => difference(actual, wanted) === undefined

const optionsOf = (seed: number, init: string | undefined) => ({ seed, ...(init === undefined ? {} : { init }), ...(budget === "smoke" ? { budget } : {}) })

/** The complete and the latest incomplete run of one experiment in --out. */
const lookup = (env: Env, method: Method, seed: number, init: string | undefined) => {
  const wanted = JSON.parse(JSON.stringify(experiment(env, method, optionsOf(seed, init)))) as unknown
  const mine = scan().filter((f) => contains(f.config, wanted))
  return { complete: mine.find((f) => f.complete), incomplete: mine.filter((f) => !f.complete).at(-1) }
}

/** The SFT run's final checkpoint: the warm start of the other methods of its (environment, seed). */
const warmStart = (sftDir: string): string | undefined => {
  const latest = NodePath.join(sftDir, "checkpoints/LATEST")
  return NodeFs.existsSync(latest) ? NodePath.join(sftDir, "checkpoints", NodeFs.readFileSync(latest, "utf8").trim()) : undefined
}

// ---- --warm ENV:SEED=RUN_DIR: SFT runs made elsewhere, checked to have trained as the table's sft would.

const key = (env: Env, seed: number) => JSON.stringify([env, seed])
const adopted = new Map<string, string>()
for (const [i, a] of args.entries()) {
  if (a !== "--warm") continue
  const text = args[i + 1]!
  const m = /^([^:=]+):([^=]+)=(.+)$/.exec(text) ?? fail(`--warm ${text}: expected ENV:SEED=RUN_DIR, e.g. house:1=runs/house-sft-2400-wide__1__20261207T034827Z`)
  const env = m[1]!.trim() as Env
  const seed = Number(m[2]!.trim())
  const dir = NodePath.resolve(m[3]!.trim())
  if (!envs.includes(env)) fail(`--warm ${text}: unknown environment ${JSON.stringify(env)} (one of ${envs.join(", ")})`)
  if (!Number.isInteger(seed) || seed <= 0) fail(`--warm ${text}: ${JSON.stringify(m[2])} is not a positive integer seed`)
  const configPath = NodePath.join(dir, "config.json")
  if (!NodeFs.existsSync(configPath)) fail(`--warm ${text}: ${dir} is not a run directory (no config.json)`)
  if (!NodeFs.existsSync(NodePath.join(dir, "eval/summary.json"))) fail(`--warm ${text}: ${dir} has no evaluation yet (finish it: stepagent resume ${dir})`)
  if (warmStart(dir) === undefined) fail(`--warm ${text}: ${dir} has no checkpoints/LATEST`)
  const actual = (JSON.parse(NodeFs.readFileSync(configPath, "utf8")) as { readonly config?: { readonly data?: { readonly generate?: { readonly n?: unknown } } } }).config
  const { data, method: _method, name: _name, ...rest } = JSON.parse(JSON.stringify(experiment(env, "sft", optionsOf(seed, undefined)))) as ReturnType<typeof experiment>
  const { n: _n, ...generate } = data.generate ?? { n: 0 }
  const sftStage = rest.stages[0] as { readonly offset?: number; readonly trajectories?: number }
  const needed = (sftStage.offset ?? 0) + (sftStage.trajectories ?? 0)
  const differs = difference(actual, rest) ?? difference(actual?.data?.generate, generate, "data.generate")
  if (differs !== undefined) fail(`--warm ${text}: ${dir} did not train as experiment.ts's ${env} sft of seed ${seed}: ${differs} differs`)
  const n = actual?.data?.generate?.n
  if (typeof n !== "number" || n < needed) fail(`--warm ${text}: ${dir} generated ${String(n)} trajectories; the sft trains on the first ${needed}`)
  adopted.set(key(env, seed), dir)
}

/** A pipeline script for one experiment, written into --out so that the run records it. */
const script = (env: Env, method: Method, seed: number, init: string | undefined): string => {
  const path = NodePath.join(out, "pipelines", `${env}-${method}-seed${seed}.ts`)
  const options = JSON.stringify(optionsOf(seed, init))
  NodeFs.writeFileSync(path, `import { experiment } from ${JSON.stringify(NodePath.join(root, "pipelines/experiment.ts"))}\n\nexport default experiment(${JSON.stringify(env)}, ${JSON.stringify(method)}, ${options})\n`)
  return path
}

// ---- Timings: <out>/timings.json, kept across invocations and written after every run.

interface Attempt {
  readonly startedAt: string
  readonly seconds: number
  readonly outcome: "done" | "failed" | "interrupted"
  readonly resumed: boolean
  readonly dir: string | null
}
interface RunTimes {
  readonly env: string
  readonly method: string
  readonly seed: number
  dir: string | null
  /** Wall time of every attempt at this run, resumes included. */
  seconds: number
  readonly attempts: Array<Attempt>
}
interface Timings {
  readonly runs: Array<RunTimes>
  readonly invocations: Array<{ readonly startedAt: string; seconds: number; readonly args: ReadonlyArray<string> }>
  /** Sums: of the runs' wall times, and of the invocations' (which include the tables and the checks). */
  runSeconds: number
  totalSeconds: number
}

const timingsPath = NodePath.join(out, "timings.json")
const timings: Timings = NodeFs.existsSync(timingsPath)
  ? JSON.parse(NodeFs.readFileSync(timingsPath, "utf8")) as Timings
  : { runs: [], invocations: [], runSeconds: 0, totalSeconds: 0 }
const t0 = Date.now()
const invocation = { startedAt: new Date(t0).toISOString(), seconds: 0, args }
const saveTimings = () => {
  if (dryRun) return
  invocation.seconds = (Date.now() - t0) / 1000
  timings.runSeconds = timings.runs.reduce((a, r) => a + r.seconds, 0)
  timings.totalSeconds = timings.invocations.reduce((a, i) => a + i.seconds, 0)
  writeAtomic(timingsPath, JSON.stringify(timings, null, 2) + "\n")
}
if (!dryRun) timings.invocations.push(invocation)

const record = (env: Env, method: Method, seed: number, attempt: Attempt) => {
  let r = timings.runs.find((x) => x.env === env && x.method === method && x.seed === seed)
  if (r === undefined) {
    r = { env, method, seed, dir: null, seconds: 0, attempts: [] }
    timings.runs.push(r)
  }
  r.attempts.push(attempt)
  r.seconds += attempt.seconds
  if (attempt.outcome === "done") r.dir = attempt.dir
  saveTimings()
}

// ---- Running the CLI: asynchronously, so that Ctrl-C and SIGTERM are seen between runs.

let stopping = false
let current: NodeChild.ChildProcess | undefined
const onSignal = (signal: NodeJS.Signals) => {
  stopping = true
  // Ctrl-C reaches the child from the terminal; a SIGTERM sent to this process alone is passed on to the run it started.
  if (signal === "SIGTERM") current?.kill("SIGTERM")
}
process.on("SIGINT", onSignal)
process.on("SIGTERM", onSignal)

interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
}
// with --cluster, commands run on the workers (their stderr goes to the worker's log)
const commands = clusterUrl === undefined || dryRun
  ? undefined
  : await CommandDispatch.open(clusterUrl).catch((e: unknown) => fail(e instanceof Error ? e.message.split("\n")[0]! : String(e)))
const cli = (argv: ReadonlyArray<string>, inherit: boolean): Promise<Result> =>
  commands !== undefined
    ? commands.run(argv, root).then(
      (r) => {
        process.stderr.write(`paper-table: stepagent ${argv.slice(0, 2).join(" ")} ran on worker ${r.worker} (exit ${r.code ?? r.signal})\n`)
        return { code: r.code, signal: r.signal as NodeJS.Signals | null, stdout: r.stdout }
      },
      (e: unknown) => {
        process.stderr.write(`paper-table: stepagent ${argv.slice(0, 2).join(" ")} could not be run on the cluster: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}\n`)
        return { code: null, signal: null, stdout: "" }
      }
    )
    : local(argv, inherit)
const local = (argv: ReadonlyArray<string>, inherit: boolean): Promise<Result> =>
  new Promise((resolve) => {
    const child = NodeChild.spawn(node, [bin, ...argv], { cwd: root, stdio: ["ignore", "pipe", inherit ? "inherit" : "pipe"] })
    current = child
    let stdout = ""
    child.stdout?.setEncoding("utf8").on("data", (d: string) => void (stdout += d))
    child.stderr?.setEncoding("utf8").on("data", (d: string) => void process.stderr.write(d))
    child.on("error", (e) => resolve({ code: null, signal: null, stdout: `${stdout}\n${e.message}` }))
    child.on("close", (code, signal) => {
      current = undefined
      resolve({ code, signal, stdout })
    })
  })

const failures: Array<string> = []
const label = (env: Env, method: Method, seed: number) => `${env} ${method} seed ${seed}`

/**
 * One experiment: skipped when complete, resumed when a matching run was cut, else a new run. Its run directory
 * when complete (now or before), undefined when it failed or was interrupted.
 */
const runOne = async (env: Env, method: Method, seed: number, init: string | undefined): Promise<string | undefined> => {
  const name = label(env, method, seed)
  const { complete, incomplete } = lookup(env, method, seed, init)
  if (complete !== undefined) {
    process.stderr.write(`paper-table: ${name}: complete in ${complete.dir}, skipped\n`)
    return complete.dir
  }
  if (dryRun) {
    process.stderr.write(`paper-table: ${name}: would ${incomplete === undefined ? "run" : `resume ${incomplete.dir}`}\n`)
    return undefined
  }
  const attempt = async (resumed: boolean): Promise<{ readonly result: Result; readonly dir: string }> => {
    const startedAt = new Date()
    process.stderr.write(`paper-table: ${name}: ${resumed ? `resuming ${incomplete!.dir}` : "new run"}\n`)
    const result = await cli(resumed ? ["resume", incomplete!.dir] : ["run", script(env, method, seed, init), "--out", out], true)
    const dir = result.stdout.split("\n")[0]!.trim()
    const outcome = result.code === 0 ? "done" : stopping || result.signal !== null ? "interrupted" : "failed"
    record(env, method, seed, { startedAt: startedAt.toISOString(), seconds: (Date.now() - startedAt.getTime()) / 1000, outcome, resumed, dir: dir === "" ? null : dir })
    return { result, dir }
  }
  let r = incomplete === undefined ? undefined : await attempt(true)
  // resume prints the run directory only once it has accepted the run: no line means it refused, so start afresh
  if (r === undefined || (r.result.code !== 0 && r.dir === "" && !stopping)) r = await attempt(false)
  const seconds = timings.runs.find((x) => x.env === env && x.method === method && x.seed === seed)?.seconds ?? 0
  if (r.result.code === 0) {
    process.stderr.write(`paper-table: ${name} -> ${r.dir} in ${minutes(seconds)}\n`)
    return r.dir
  }
  if (!stopping) {
    // one failed run must not lose the others: it is reported, and the next invocation resumes it
    failures.push(`${name} (exit ${r.result.code ?? r.result.signal})${r.dir === "" ? "" : `: ${r.dir}`}`)
    process.stderr.write(`paper-table: failed: ${failures.at(-1)}\n`)
  }
  return undefined
}

/** One (environment, seed): its SFT, then the other methods from its warm start (at once on a cluster). */
const chain = async (env: Env, seed: number): Promise<void> => {
  if (stopping) return
  const given = adopted.get(key(env, seed))
  if (given !== undefined) process.stderr.write(`paper-table: ${label(env, "sft", seed)}: ${given} (--warm)\n`)
  const sft = given ?? await runOne(env, "sft", seed, undefined)
  const warm = sft === undefined ? undefined : warmStart(sft)
  const others = chosenMethods.filter((m) => m !== "sft")
  if (warm === undefined) {
    if (others.length > 0 && !dryRun && !stopping) {
      failures.push(`${env} seed ${seed}: no SFT warm start${sft === undefined ? "" : ` (${sft} has no checkpoints/LATEST)`}: ${others.join(", ")} skipped`)
      process.stderr.write(`paper-table: ${failures.at(-1)}\n`)
    }
    if (dryRun) for (const m of others) process.stderr.write(`paper-table: ${label(env, m, seed)}: would run after SFT\n`)
    return
  }
  if (commands !== undefined) {
    // after Ctrl-C no new run is handed out; runs already on workers go on to their end
    await Promise.all(others.map((method) => stopping ? Promise.resolve(undefined) : runOne(env, method, seed, warm)))
    return
  }
  for (const method of others) {
    if (stopping) break
    await runOne(env, method, seed, warm)
  }
}

if (commands !== undefined) {
  // every (environment, seed) at once: the workers take the runs as they come, one each
  await Promise.all(seeds.flatMap((seed) => chosenEnvs.map((env) => chain(env, seed))))
  await commands.close()
} else {
  for (const seed of seeds) {
    for (const env of chosenEnvs) {
      if (stopping) break
      await chain(env, seed)
    }
  }
}

// ---- The table of every complete run in --out.

const allSeeds = [...new Set([...seeds, ...[...adopted.keys()].map((k) => (JSON.parse(k) as [Env, number])[1]), ...scan().flatMap((f) => {
  const s = typeof f.config === "object" && f.config !== null && "seed" in f.config ? f.config.seed : undefined
  return typeof s === "number" ? [s] : []
})])].sort((a, b) => a - b)
const complete = new Map<string, string>()
for (const seed of allSeeds) {
  for (const env of envs) {
    const sft = adopted.get(key(env, seed)) ?? lookup(env, "sft", seed, undefined).complete?.dir
    if (sft === undefined) continue
    complete.set(JSON.stringify(["sft", env, seed]), sft)
    const warm = warmStart(sft)
    for (const method of methods.filter((m) => m !== "sft")) {
      const run = warm === undefined ? undefined : lookup(env, method, seed, warm).complete
      if (run !== undefined) complete.set(JSON.stringify([method, env, seed]), run.dir)
    }
  }
}
// method-major, then environment, then seed: rows in experiment.ts's order, columns in its environments' order
const dirs = methods.flatMap((m) => envs.flatMap((e) => allSeeds.flatMap((s) => complete.get(JSON.stringify([m, e, s])) ?? [])))

if (dirs.length === 0) {
  process.stdout.write(`no complete run in ${out} yet\n`)
} else {
  const table = async (json: boolean) => {
    const as = [...adopted.values()].filter((d) => dirs.includes(d)).flatMap((d) => ["--as", `${d}=sft`])
    const r = await local(["table", ...dirs, ...as, ...(json ? ["--json"] : [])], false)
    if (r.code !== 0) failures.push(`stepagent table failed (exit ${r.code ?? r.signal})`)
    return r.stdout
  }
  const md = await table(false)
  const json = await table(true)
  if (!dryRun) {
    writeAtomic(NodePath.join(out, "table.md"), md)
    writeAtomic(NodePath.join(out, "table.json"), json)
  }
  process.stdout.write(md)
  process.stdout.write(`\n${dirs.length} complete runs (seeds ${allSeeds.join(", ")}) in ${out}\n`)
}
saveTimings()
if (!dryRun) process.stdout.write(`wall time: ${minutes(invocation.seconds)} this invocation; ${minutes(timings.runSeconds)} in runs, ${minutes(timings.totalSeconds)} in all invocations (${timingsPath})\n`)
for (const f of failures) process.stdout.write(`failed: ${f}\n`)
if (stopping) {
  process.stdout.write("interrupted: run the same command again to resume\n")
  process.exitCode = 130
} else if (failures.length > 0) process.exitCode = 1
