import { execFile } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")
const bin = Path.join(root, "bin/stepagent.ts")

/** Runs the real CLI (on this Node) with a clean STEPAGENT_* environment plus `env`. */
const stepagent = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("STEPAGENT_")))
    execFile(process.execPath, [bin, ...args], { cwd: root, env: { ...clean, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resolve({ code, stdout, stderr })
    })
  })

describe("stepagent backend", () => {
  it("--json prints the available backends, the one auto picks, its matmul path and threads", async () => {
    const r = await stepagent(["backend", "--json", "--threads", "1"])
    assert.strictEqual(r.code, 0, r.stderr)
    const lines = r.stdout.trim().split("\n")
    assert.strictEqual(lines.length, 1)
    const report = JSON.parse(lines[0]) as {
      available: Array<string>
      auto: string
      backend: string
      matmul: string
      threads: { requested: number; wasm: number; blas: number; tensorflow: number }
    }
    assert.includeMembers(report.available, ["wasm", "cpu"])
    assert.strictEqual(report.auto, report.available[0])
    assert.strictEqual(report.backend, report.auto)
    assert.include(["openblas", "xnnpack", "stock"], report.matmul)
    assert.strictEqual(report.threads.requested, 1)
  })

  it("honours STEPAGENT_BACKEND and --matmul", async () => {
    const r = await stepagent(["backend", "--json", "--matmul", "stock"], { STEPAGENT_BACKEND: "wasm", STEPAGENT_THREADS: "1" })
    assert.strictEqual(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout) as { backend: string; matmul: string; threads: { wasm: number } }
    assert.deepStrictEqual([report.backend, report.matmul, report.threads.wasm], ["wasm", "stock", 1])
  })

  it("starts the threaded wasm build for --threads 2 without OpenBLAS, and the process still exits", async () => {
    const r = await stepagent(["backend", "--json", "--backend", "wasm", "--threads", "2", "--matmul", "xnnpack"])
    assert.strictEqual(r.code, 0, r.stderr)
    const report = JSON.parse(r.stdout) as { matmul: string; threads: { requested: number; wasm: number; blas: number } }
    assert.deepStrictEqual([report.matmul, report.threads.requested, report.threads.wasm, report.threads.blas], ["xnnpack", 2, 2, 0])
  })

  // a fresh clone has neither tensorflow package (their install downloads fail offline and npm drops them); a
  // machine where npm kept them without running their install scripts has them without their native library
  it("a forced backend that is not installed fails with one clear line and exit code 1", async () => {
    const r = await stepagent(["backend", "--backend", "tensorflow-gpu"])
    assert.strictEqual(r.code, 1)
    assert.strictEqual(r.stdout, "")
    assert.match(r.stderr, /^stepagent: --backend tensorflow-gpu: @tensorflow\/tfjs-node-gpu (is not installed|is installed without its native library \(its install script did not run; npm rebuild @tensorflow\/tfjs-node-gpu\)) \(see docs\/backends\.md\)\n$/)
  })

  it("a bad STEPAGENT_BACKEND is named in the error", async () => {
    const r = await stepagent(["backend"], { STEPAGENT_BACKEND: "gpu" })
    assert.strictEqual(r.code, 1)
    assert.strictEqual(r.stderr, "stepagent: STEPAGENT_BACKEND=gpu: expected one of auto|tensorflow-gpu|tensorflow|wasm|cpu\n")
  })
})
