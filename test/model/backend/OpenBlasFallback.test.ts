import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as OpenBlas from "../../../src/model/backend/OpenBlas.ts"

/**
 * What happens where the OpenBLAS addon is missing or broken: a one-line reason, never an exception, and stepagent
 * on XNNPACK with that reason as its notice. Runs everywhere (it builds its broken addons in a tmp dir).
 */
const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "stepagent-openblas-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

/** A package directory `name` holding `files` (package.json points main at index.js). */
const fakePackage = (name: string, files: Record<string, string>): string => {
  const p = Path.join(dir, name)
  Fs.mkdirSync(p, { recursive: true })
  Fs.writeFileSync(Path.join(p, "package.json"), JSON.stringify({ name, main: "index.js" }))
  for (const [f, text] of Object.entries(files)) Fs.writeFileSync(Path.join(p, f), text)
  return p
}

/** The real package's loader with no compiled addon beside it: what a failed node-gyp build leaves. */
const unbuilt = fakePackage("unbuilt", {
  "index.js": Fs.readFileSync(Path.join(root, "packages/openblas-matmul/index.js"), "utf8")
})

const oneLine = (s: string) => assert.notInclude(s, "\n")

describe("OpenBLAS unavailable", () => {
  it("a missing package: 'not installed' and how to get it", () => {
    const reason = OpenBlas.loadAddon("@stepagent/no-such-addon")
    assert.isString(reason)
    oneLine(reason as string)
    assert.strictEqual(
      reason,
      "OpenBLAS matmul addon not installed (@stepagent/no-such-addon); install libopenblas-dev, then run npm ci (docs/openblas.md)"
    )
  })

  it("a package without its binary: 'not built', and why (headers absent, install script never run, build failed)", () => {
    const headers = OpenBlas.cblasHeaders.some((h) => Fs.existsSync(h))
    const reason = OpenBlas.loadAddon(unbuilt)
    assert.isString(reason)
    oneLine(reason as string)
    if (!headers) {
      assert.strictEqual(reason, "OpenBLAS matmul addon is not built: OpenBLAS's headers (cblas.h) are not installed; install libopenblas-dev, then run npm ci (docs/openblas.md)")
      return
    }
    // No build/ directory: node-gyp never ran (a blocked install script).
    assert.match(reason as string, /^OpenBLAS matmul addon is not built: its install script never ran \(npm's ignore-scripts, or allowScripts/)
    const tried = fakePackage("tried", { "index.js": Fs.readFileSync(Path.join(root, "packages/openblas-matmul/index.js"), "utf8") })
    Fs.mkdirSync(Path.join(tried, "build"))
    assert.match(OpenBlas.loadAddon(tried) as string, /^OpenBLAS matmul addon is not built: its build failed although the headers are present; run npm rebuild/)
  })

  it("a binding that exports the wrong things, or multiplies wrong, is refused", () => {
    const empty = fakePackage("empty", { "index.js": "module.exports = {}" })
    assert.match(OpenBlas.loadAddon(empty) as string, /does not export sgemm\/sumRows/)
    const wrong = fakePackage("wrong", {
      "index.js": "module.exports = { sgemm() {}, sumRows() {}, setThreads() {}, getThreads: () => 1, config: () => 'fake' }"
    })
    assert.strictEqual(OpenBlas.loadAddon(wrong), "OpenBLAS computed a 2x2 product wrong (NaN, NaN, NaN, NaN)")
    const throwing = fakePackage("throwing", {
      "index.js": "module.exports = { sgemm() { throw new Error('boom') }, sumRows() {}, setThreads() {}, getThreads: () => 1, config: () => 'x' }"
    })
    assert.strictEqual(OpenBlas.loadAddon(throwing), "OpenBLAS matmul addon failed its self-test: boom")
  })

  it("load returns the reason and leaves no addon active", async () => {
    const loaded = await OpenBlas.load(2, unbuilt)
    assert.isString(loaded)
    assert.strictEqual(OpenBlas.threads(), 0)
    assert.isUndefined(OpenBlas.config())
    OpenBlas.setThreads(2) // a no-op without the addon
  })

  it("stepagent backend falls back to XNNPACK with a one-line notice", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [Path.join(root, "bin/stepagent.ts"), "backend", "--json", "--backend", "wasm", "--threads", "1"],
      { cwd: root, env: { ...process.env, [OpenBlas.addonVariable]: unbuilt, STEPAGENT_MATMUL: "" } }
    )
    const report = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as {
      matmul: string
      threads: { blas: number }
      notices: Array<string>
    }
    assert.strictEqual(report.matmul, "xnnpack")
    assert.strictEqual(report.threads.blas, 0)
    assert.strictEqual(report.notices.length, 1)
    oneLine(report.notices[0])
    assert.match(report.notices[0], /^OpenBLAS matmul addon (does not load|is not built): .*; using XNNPACK$/)
  })
})
