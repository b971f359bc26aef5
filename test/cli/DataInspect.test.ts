/**
 * `stepagent data inspect` end to end: the real CLI (bin/stepagent.ts on the pinned Node 24) on files in
 * a temporary directory.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Arrow from "apache-arrow"
import { Effect, Stream } from "effect"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll } from "vitest"
import * as TrajectoryArrow from "../../src/data/TrajectoryArrow.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const node = path.join(root, "node_modules/.bin/node")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stepagent-cli-inspect-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const cli = (...args: ReadonlyArray<string>) =>
  Effect.promise(() =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(node, [path.join(root, "bin/stepagent.ts"), ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
      child.on("close", (code) => resolve({ code, stdout, stderr }))
    })
  )

const rows: Array<Trajectory> = [
  { id: "a", env: "shop", taskId: "train:0", instruction: "buy", steps: [{ observation: "o", action: "a" }, { observation: "o", action: "b" }], reward: 1, success: true, source: "t" },
  { id: "b", env: "house", taskId: "train:1", instruction: "go", steps: [{ observation: "o", action: "a" }], reward: 0, success: false, source: "t" },
  { id: "c", env: "shop", taskId: "train:2", instruction: "buy", steps: [], reward: 0.5, success: true, source: "t" }
]
const good = path.join(dir, "good.arrows")
await Effect.runPromise(Stream.fromIterable(rows).pipe(TrajectoryArrow.write(good)))

/** A failed run: non-zero exit, one line on stderr naming the file, no stack trace, nothing on stdout. */
const expectUserError = (r: { code: number | null; stdout: string; stderr: string }, file: string, problem: string) => {
  assert.notStrictEqual(r.code, 0)
  assert.strictEqual(r.stdout, "")
  const lines = r.stderr.trimEnd().split("\n")
  assert.strictEqual(lines.length, 1, r.stderr)
  assert.match(lines[0]!, /^stepagent: /)
  assert.include(lines[0]!, file)
  assert.include(lines[0]!, problem)
  assert.notMatch(r.stderr, /\n\s+at /)
}

describe("stepagent data inspect", () => {
  it.live("--json prints exactly one JSON object with the documented keys", () =>
    Effect.gen(function*() {
      const r = yield* cli("data", "inspect", good, "--json")
      assert.strictEqual(r.code, 0, r.stderr)
      assert.strictEqual(r.stdout.trim().split("\n").length, 1)
      const out = JSON.parse(r.stdout) as Record<string, unknown>
      assert.includeMembers(Object.keys(out), ["trajectories", "steps", "envs", "meanSteps", "meanReward", "successRate"])
      assert.strictEqual(out["trajectories"], 3)
      assert.strictEqual(out["steps"], 3)
      assert.deepStrictEqual(out["envs"], { house: 1, shop: 2 })
      assert.strictEqual(out["meanSteps"], 1)
      assert.strictEqual(out["meanReward"], 0.5)
      assert.closeTo(out["successRate"] as number, 2 / 3, 1e-12)
    }))

  it.live("prints a human-readable summary with the schema by default", () =>
    Effect.gen(function*() {
      const r = yield* cli("data", "inspect", good)
      assert.strictEqual(r.code, 0, r.stderr)
      for (const s of ["trajectories  3", "steps         3", "shop", "house", "success rate  66.7%", "trajectory-text/1", "steps", "List<Struct<"]) {
        assert.include(r.stdout, s)
      }
    }))

  it.live("reads a named pipe too (as from /dev/stdin in a shell pipeline)", () =>
    Effect.gen(function*() {
      const fifo = path.join(dir, "fifo.arrows")
      assert.strictEqual(spawnSync("mkfifo", [fifo]).status, 0)
      fs.createReadStream(good).pipe(fs.createWriteStream(fifo))
      const r = yield* cli("data", "inspect", fifo, "--json")
      assert.strictEqual(r.code, 0, r.stderr)
      assert.strictEqual((JSON.parse(r.stdout) as { steps: number }).steps, 3)
    }))

  it.live("a path that does not exist: one-line error, non-zero exit", () =>
    Effect.gen(function*() {
      const p = path.join(dir, "missing.arrows")
      expectUserError(yield* cli("data", "inspect", p, "--json"), p, "no such file")
    }))

  it.live("a JSON file: not Arrow", () =>
    Effect.gen(function*() {
      const p = path.join(dir, "data.json")
      fs.writeFileSync(p, JSON.stringify([{ id: "x", conversations: [] }]))
      expectUserError(yield* cli("data", "inspect", p, "--json"), p, "not an Arrow IPC stream")
    }))

  it.live("a truncated file: not valid Arrow", () =>
    Effect.gen(function*() {
      const p = path.join(dir, "truncated.arrows")
      const bytes = fs.readFileSync(good)
      fs.writeFileSync(p, bytes.subarray(0, Math.floor(bytes.length * 0.7)))
      expectUserError(yield* cli("data", "inspect", p), p, "not a valid Arrow IPC stream")
    }))

  it.live("Arrow with the wrong schema: names the missing columns", () =>
    Effect.gen(function*() {
      const p = path.join(dir, "other.arrows")
      fs.writeFileSync(p, Arrow.tableToIPC(Arrow.tableFromArrays({ id: ["x"], score: Float64Array.from([1]) }), "stream"))
      expectUserError(yield* cli("data", "inspect", p, "--json"), p, "wrong schema: missing columns env, taskId")
    }))
})
