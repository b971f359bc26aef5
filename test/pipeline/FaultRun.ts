import * as NodeChild from "node:child_process"
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"

/**
 * Running the `stepagent` CLI under faults, for test/pipeline/Faults.test.ts and the `faults` benchmark: a run killed
 * at a failpoint (src/fault/Failpoint.ts), a resume, and the comparison of two run directories on every file
 * that must be identical.
 */
export const root = NodePath.resolve(import.meta.dirname, "../..")
const node = NodePath.join(root, "node_modules/.bin/node")
const bin = NodePath.join(root, "bin/stepagent.ts")
// One backend for every process: exactness is promised on the same backend.
const baseEnv: Record<string, string | undefined> = { ...process.env, STEPAGENT_BACKEND: "wasm", STEPAGENT_THREADS: "1", STEPAGENT_MATMUL: "xnnpack", STEPAGENT_FAILPOINT: undefined }

export interface Result {
  readonly status: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `stepagent <args>`; with `failpoint`, the process kills itself there (status null, signal SIGKILL). */
export const cli = (args: ReadonlyArray<string>, failpoint?: string): Result => {
  const env = failpoint === undefined ? baseEnv : { ...baseEnv, STEPAGENT_FAILPOINT: failpoint }
  const r = NodeChild.spawnSync(node, [bin, ...args], { cwd: root, encoding: "utf8", env })
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

/** The run directory a `run --out <out>` created (the only entry of `out`). */
export const runDirOf = (out: string): string => NodePath.join(out, NodeFs.readdirSync(out)[0]!)

/** metrics.jsonl without the wall-time metrics (perf/*, timing/*): the lines that must be identical. */
const metricsLines = (path: string): string =>
  NodeFs.readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => {
    const o = JSON.parse(l) as Record<string, unknown>
    for (const k of Object.keys(o)) if (k.startsWith("perf/") || k.startsWith("timing/")) delete o[k]
    return JSON.stringify(o)
  }).join("\n")

const digest = (path: string): string =>
  NodeFs.existsSync(path) ? NodeCrypto.createHash("sha256").update(NodeFs.readFileSync(path)).digest("hex") : "missing"

/** The last checkpoint a run directory names (checkpoints/LATEST). */
const latest = (runDir: string): string => NodePath.join(runDir, "checkpoints", NodeFs.readFileSync(NodePath.join(runDir, "checkpoints/LATEST"), "utf8").trim())

/**
 * The files that must be identical between a run and its resumed twin, as comparable strings: metrics (wall time
 * aside), samples, the evaluation's summary and episodes, and every file of the final checkpoint (weights, optimizer
 * moments, manifest).
 */
export const fingerprint = (runDir: string): Record<string, string> => {
  const out: Record<string, string> = {
    "metrics.jsonl": NodeCrypto.createHash("sha256").update(metricsLines(NodePath.join(runDir, "metrics.jsonl"))).digest("hex"),
    "samples/step-rewards.jsonl": digest(NodePath.join(runDir, "samples/step-rewards.jsonl")),
    "eval/summary.json": digest(NodePath.join(runDir, "eval/summary.json")),
    "eval/episodes.arrows": digest(NodePath.join(runDir, "eval/episodes.arrows")),
    "report.html exists": String(NodeFs.existsSync(NodePath.join(runDir, "report.html")))
  }
  const ckpt = latest(runDir)
  for (const f of NodeFs.readdirSync(ckpt).sort()) out[`checkpoints/${NodePath.basename(ckpt)}/${f}`] = digest(NodePath.join(ckpt, f))
  return out
}

/** The names of the files whose fingerprints differ (empty: identical). */
export const differences = (a: Record<string, string>, b: Record<string, string>): Array<string> =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]).sort()

/** Units completed according to state.json (0 before the first). */
export const completed = (runDir: string): number => {
  const p = NodePath.join(runDir, "state.json")
  return NodeFs.existsSync(p) ? (JSON.parse(NodeFs.readFileSync(p, "utf8")) as { completed: number }).completed : 0
}

/** Flips `count` bytes in the middle of a file (each XOR 0xff). */
export const flipBytes = (path: string, count = 4): void => {
  const b = NodeFs.readFileSync(path)
  const at = Math.floor(b.length / 2)
  for (let i = 0; i < count; i++) b[at + i] = b[at + i]! ^ 0xff
  NodeFs.writeFileSync(path, b)
}

/** Cuts a file to half its length. */
export const truncate = (path: string): void => NodeFs.truncateSync(path, Math.floor(NodeFs.statSync(path).size / 2))

/** Whether this process may mount a tmpfs (root in a container that allows it); probes at `dir`, then removes it. */
export const canMount = (dir: string): boolean => {
  NodeFs.mkdirSync(dir, { recursive: true })
  const r = NodeChild.spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { encoding: "utf8" })
  if (r.status === 0) NodeChild.spawnSync("umount", [dir])
  NodeFs.rmSync(dir, { recursive: true, force: true })
  return r.status === 0
}

export const mount = (dir: string, size: string): void => {
  NodeFs.mkdirSync(dir, { recursive: true })
  const r = NodeChild.spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { encoding: "utf8" })
  if (r.status !== 0) throw new Error(`mount tmpfs ${dir}: ${r.stderr.trim()}`)
}

/** Grows a mounted tmpfs: space freed without touching the run's files. */
export const remount = (dir: string, size: string): void => {
  const r = NodeChild.spawnSync("mount", ["-o", `remount,size=${size}`, dir], { encoding: "utf8" })
  if (r.status !== 0) throw new Error(`remount ${dir}: ${r.stderr.trim()}`)
}

/** Unmounts `dir` and removes the mount point. */
export const umount = (dir: string): void => {
  NodeChild.spawnSync("umount", [dir])
  NodeFs.rmSync(dir, { recursive: true, force: true })
}
