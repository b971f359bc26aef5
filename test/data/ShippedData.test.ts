import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { describe, expect, it } from "vitest"

const root = NodePath.resolve(import.meta.dirname, "../..")

describe("shipped datasets", () => {
  it("data/generate.sh regenerates data/*.arrows byte for byte", () => {
    const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "shipped-"))
    try {
      const script = NodeFs.readFileSync(NodePath.join(root, "data/generate.sh"), "utf8")
      const lines = script.split("\n").filter((l) => l.startsWith("npx --no-install stepagent data generate"))
      expect(lines).toHaveLength(3)
      for (const line of lines) {
        const args = line.replace("npx --no-install stepagent ", "").trim().split(/\s+/)
        const outAt = args.indexOf("--out")
        const shipped = NodePath.join(root, args[outAt + 1]!)
        const fresh = NodePath.join(dir, NodePath.basename(shipped))
        args[outAt + 1] = fresh
        const r = NodeChild.spawnSync(NodePath.join(root, "node_modules/.bin/node"), [NodePath.join(root, "bin/stepagent.ts"), ...args], { cwd: root, encoding: "utf8" })
        expect(r.status, r.stderr).toBe(0)
        expect(NodeFs.readFileSync(fresh).equals(NodeFs.readFileSync(shipped)), `${shipped} differs from a fresh generation`).toBe(true)
      }
    } finally {
      NodeFs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
