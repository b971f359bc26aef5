import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { Option } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { autoTrainThreads, trainThreadCount } from "../../src/cli/RunCommand.ts"

const root = NodePath.resolve(import.meta.dirname, "../..")
const node = NodePath.join(root, "node_modules/.bin/node")
const bin = NodePath.join(root, "bin/stepagent.ts")
const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "train-threads-cli-"))
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
const env = { ...process.env, STEPAGENT_BACKEND: "wasm", STEPAGENT_THREADS: "", STEPAGENT_TRAIN_THREADS: "", STEPAGENT_MATMUL: "xnnpack" }
const cli = (args: ReadonlyArray<string>) => NodeChild.spawnSync(node, [bin, ...args], { cwd: root, encoding: "utf8", env })

describe("--train-threads", () => {
  it("is the flag, else STEPAGENT_TRAIN_THREADS, else 1; anything but a whole number from 1 to 64 is one line", () => {
    expect(trainThreadCount(Option.some(3), { STEPAGENT_TRAIN_THREADS: "2" })).toBe(3)
    expect(trainThreadCount(Option.none(), { STEPAGENT_TRAIN_THREADS: "2" })).toBe(2)
    expect(trainThreadCount(Option.none(), {})).toBe(1)
    expect(trainThreadCount(Option.none(), { STEPAGENT_TRAIN_THREADS: " " })).toBe(1)
    expect(trainThreadCount(Option.some(0), {})).toBe("--train-threads 0: expected a whole number of threads from 1 to 64")
    expect(trainThreadCount(Option.none(), { STEPAGENT_TRAIN_THREADS: "two" })).toBe("STEPAGENT_TRAIN_THREADS two: expected a whole number of threads from 1 to 64")
  })

  it("defaults to every core on wasm when nobody chose the backend's threads, else to 1", () => {
    expect(autoTrainThreads({}, {}, false, 2)).toBe(2)
    expect(autoTrainThreads({ backend: "wasm" }, {}, true, 4)).toBe(4)
    expect(autoTrainThreads({}, {}, true, 2)).toBe(1) // auto would try an installed TensorFlow first
    expect(autoTrainThreads({ threads: 2 }, {}, false, 2)).toBe(1)
    expect(autoTrainThreads({}, { STEPAGENT_THREADS: "2" }, false, 2)).toBe(1)
    expect(autoTrainThreads({}, { STEPAGENT_BACKEND: "tensorflow" }, false, 2)).toBe(1)
    expect(autoTrainThreads({ backend: "cpu" }, {}, false, 2)).toBe(1)
    expect(trainThreadCount(Option.none(), {}, autoTrainThreads({}, {}, false, 3))).toBe(3)
  })

  it("a run on two training threads logs them and ends like the one-thread run; a conflicting --threads is one line before any work", () => {
    // SFT's passes and the evaluation's waves (4 of 2 episodes) are what the threads share
    const tiny = ["pipelines/tiny.ts", "--set", "stages.1.iterations=1", "--set", "stages.2.parallel=2"]
    const one = cli(["run", "--out", dir, "--threads", "1", ...tiny])
    expect(one.status, one.stderr).toBe(0)
    const two = cli(["run", "--out", dir, ...tiny]) // the default on 2 or more cores
    if (NodeOs.availableParallelism() < 2) return
    expect(two.status, two.stderr).toBe(0)
    expect(two.stderr).toContain("training passes and evaluation episodes shared by 2 threads (1 wasm thread each, matmul xnnpack)")
    const summary = (out: string) => NodeFs.readFileSync(NodePath.join(out.split("\n")[0]!.trim(), "eval", "summary.json"), "utf8")
    expect(summary(two.stdout)).toBe(summary(one.stdout))
    // a helper that dies (the failpoint ends its thread at its 3rd step) leaves its passes to the learner: the same run
    const dies = NodeChild.spawnSync(node, [bin, "run", "--out", dir, "--train-threads", "2", ...tiny], {
      cwd: root,
      encoding: "utf8",
      env: { ...env, STEPAGENT_FAILPOINT: "gradient.thread@3" }
    })
    expect(dies.status, dies.stderr).toBe(0)
    expect(dies.stderr).toMatch(/gradient thread: exited \(70\): its passes go to the other threads from now on/)
    expect(dies.stderr.match(/its passes go to the other threads/g)).toHaveLength(1)
    expect(summary(dies.stdout)).toBe(summary(one.stdout))
    // compute threads that die (each at its 2nd wave) leave their waves to the other thread, then to the learner: the same episodes
    const waves = NodeChild.spawnSync(node, [bin, "run", "--out", dir, "--train-threads", "2", ...tiny], {
      cwd: root,
      encoding: "utf8",
      env: { ...env, STEPAGENT_FAILPOINT: "wave.thread@2" }
    })
    expect(waves.status, waves.stderr).toBe(0)
    expect(waves.stderr).toMatch(/compute thread [12] of 2 failed \(exited \(70\)\): its waves go to the other threads from now on/)
    expect(summary(waves.stdout)).toBe(summary(one.stdout))
    const conflict = cli(["run", "--out", dir, "--threads", "2", "--train-threads", "2", ...tiny])
    expect(conflict.status).toBe(1)
    expect(conflict.stderr.trim().split("\n").filter((l) => l.startsWith("stepagent:"))).toEqual([
      "stepagent: --threads 2 with --train-threads 2: each thread that trains runs a one-thread backend; leave out --threads"
    ])
    expect(conflict.stderr).not.toContain("    at ")
  }, 240_000)
})
