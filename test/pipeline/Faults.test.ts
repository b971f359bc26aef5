import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as FaultRun from "./FaultRun.ts"

/**
 * The tiny pipeline under faults (the full set of 20+ kill points is `npm run bench -- --only faults`):
 * - killed (SIGKILL, at deterministic failpoints) during PPO, during a checkpoint write and between the last
 *   unit's state.json and the report, then resumed: identical to the uninterrupted run;
 * - its last checkpoint corrupted: resume says so in one line and falls back to the checkpoint before;
 * - its run directory on a full disk (a small tmpfs): one line, no stack trace, the last checkpoint intact, and a
 *   resume once space is freed finishes identically.
 */
const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "faults-"))
const disk = NodePath.join(dir, "disk")
// A tmpfs needs root (or CAP_SYS_ADMIN): elsewhere the full-disk case is skipped, and says so in the test's name.
const mountable = FaultRun.canMount(disk)
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))

let reference: Record<string, string> = {}
beforeAll(() => {
  const out = NodePath.join(dir, "reference")
  const r = FaultRun.cli(["run", "pipelines/tiny.ts", "--out", out])
  expect(r.status, r.stderr).toBe(0)
  reference = FaultRun.fingerprint(FaultRun.runDirOf(out))
}, 120_000)

/** Runs the pipeline killed at `failpoint`, optionally damages it, resumes it; returns the resumed run's directory and stderr. */
const killAndResume = (name: string, failpoint: string, damage?: (runDir: string) => void) => {
  const out = NodePath.join(dir, name)
  const killed = FaultRun.cli(["run", "pipelines/tiny.ts", "--out", out], failpoint)
  expect(killed.signal, `${failpoint} was not reached: ${killed.stderr}`).toBe("SIGKILL")
  const runDir = FaultRun.runDirOf(out)
  damage?.(runDir)
  const resumed = FaultRun.cli(["resume", runDir])
  expect(resumed.status, resumed.stderr).toBe(0)
  return { runDir, stderr: resumed.stderr }
}

describe("runs under faults", () => {
  it("killed during PPO: the resumed run is identical", () => {
    const { runDir } = killAndResume("ppo", "metrics@9")
    expect(FaultRun.differences(FaultRun.fingerprint(runDir), reference)).toEqual([])
  }, 120_000)

  it("killed after the last unit's state.json, before the older checkpoints are removed and the report: resume settles and reports, identical", () => {
    const { runDir } = killAndResume("report", "state.prune@5", (d) => expect(NodeFs.existsSync(NodePath.join(d, "report.html"))).toBe(false))
    expect(FaultRun.differences(FaultRun.fingerprint(runDir), reference)).toEqual([])
    expect(NodeFs.readdirSync(NodePath.join(runDir, "checkpoints")).sort()).toEqual(["LATEST", "unit-0004", "unit-0005"])
    // complete now: nothing more to resume
    const again = FaultRun.cli(["resume", runDir])
    expect(again.status).not.toBe(0)
    expect(again.stderr).toMatch(/nothing to resume/)
  }, 120_000)

  it("killed inside a checkpoint write, the last complete checkpoint then corrupted: resume falls back to the one before, identical", () => {
    const { runDir, stderr } = killAndResume("corrupt", "checkpoint.file@9", (d) => {
      expect(FaultRun.completed(d)).toBe(2)
      FaultRun.flipBytes(NodePath.join(d, "checkpoints/unit-0002/policy.weights.bin"))
    })
    // one line names the damage and the fallback; no stack trace
    const warning = stderr.split("\n").filter((l) => l.includes("checksum"))
    expect(warning).toHaveLength(1)
    expect(warning[0]).toMatch(/unit-0002: policy\.weights\.bin does not match its checksum: resuming from checkpoints\/unit-0001/)
    expect(stderr).not.toMatch(/\n\s+at /)
    expect(FaultRun.differences(FaultRun.fingerprint(runDir), reference)).toEqual([])
  }, 120_000)

  // 8 KB fills up at the first lines of metrics.jsonl; 3 MB holds the SFT checkpoints (~1 MB each) but not the first
  // StepAgent one (~2.2 MB) beside them
  for (const [size, saved] of [["8k", 0], ["3m", 2]] as const) {
    it.skipIf(!mountable)(`a full disk (tmpfs of ${size}): one line, the last checkpoint intact, a resume once space is freed is identical`, () => {
      const mnt = NodePath.join(disk, size)
      FaultRun.mount(mnt, size)
      try {
        const full = FaultRun.cli(["run", "pipelines/tiny.ts", "--out", mnt])
        expect(full.status).toBe(1)
        const lines = full.stderr.split("\n").filter((l) => l.startsWith("stepagent:"))
        expect(lines, full.stderr).toHaveLength(1)
        expect(lines[0]).toMatch(/no space left on device.*units are saved.*free space, then `stepagent resume /)
        expect(full.stderr).not.toMatch(/internal error|\n\s+at /)
        const runDir = FaultRun.runDirOf(mnt)
        expect(FaultRun.completed(runDir)).toBe(saved)
        // nothing half-written is left holding the space; what state.json names is there
        const left = NodeFs.readdirSync(NodePath.join(runDir, "checkpoints"))
        expect(left.filter((f) => f.includes(".tmp-"))).toEqual([])
        if (saved > 0) expect(left).toContain(`unit-${String(saved).padStart(4, "0")}`)
        FaultRun.remount(mnt, "64m")
        const resumed = FaultRun.cli(["resume", runDir])
        expect(resumed.status, resumed.stderr).toBe(0)
        expect(FaultRun.differences(FaultRun.fingerprint(runDir), reference)).toEqual([])
      } finally {
        FaultRun.umount(mnt)
      }
    }, 180_000)
  }
})
