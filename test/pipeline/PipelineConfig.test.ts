import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, describe, expect, it } from "vitest"

/** Pipelines that are wrong fail before any work: one line naming the field, a non-zero exit, no run directory. */
const root = NodePath.resolve(import.meta.dirname, "../..")
const node = NodePath.join(root, "node_modules/.bin/node")
const bin = NodePath.join(root, "bin/stepagent.ts")
const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "pipeline-config-"))
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))

const base = {
  name: "bad",
  method: "sft",
  env: { name: "qa" },
  data: { train: [NodePath.join(root, "data/qa-train.arrows")], limit: 4 },
  tokenizer: { vocab: 300 },
  model: { preset: "tiny" },
  stages: [{ stage: "sft", epochs: 1 }, { stage: "evaluate", n: 2 }]
}

let n = 0
const script = (definition: unknown): string => {
  const path = NodePath.join(dir, `p${n++}.ts`)
  NodeFs.writeFileSync(path, `export default ${JSON.stringify(definition)}\n`)
  return path
}

const run = (args: ReadonlyArray<string>) => {
  const out = NodePath.join(dir, `out${n++}`)
  const r = NodeChild.spawnSync(node, [bin, "run", ...args, "--out", out], { cwd: root, encoding: "utf8", env: { ...process.env, STEPAGENT_BACKEND: "cpu" } })
  return { ...r, created: NodeFs.existsSync(out) }
}

const expectOneLineError = (r: ReturnType<typeof run>, pattern: RegExp) => {
  expect(r.status).not.toBe(0)
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("stepagent:"))
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
  expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
  expect(r.created).toBe(false)
}

describe("pipeline config errors", () => {
  it("a field of the wrong type names the field", () => {
    expectOneLineError(run([script({ ...base, stages: [{ stage: "sft", epochs: "two" }] })]), /stages\[0\]\.epochs: expected number/)
  })
  it("an unknown field is an error, not ignored", () => {
    expectOneLineError(run([script({ ...base, modle: { preset: "tiny" } })]), /modle/)
  })
  it("an unknown stage names it and the known ones", () => {
    expectOneLineError(run([script({ ...base, stages: [{ stage: "ppo2" }] })]), /stages\[0\]: unknown stage "ppo2" \(known: sft, stepagent/)
  })
  it("a validation world that is trained on, or in an environment that splits per seed, is refused", () => {
    const evaluate = (validation: unknown) => [{ stage: "sft", epochs: 1 }, { stage: "evaluate", n: 1, validation }]
    expectOneLineError(run([script({ ...base, data: { generate: { n: 4, seeds: [0, 3] } }, stages: evaluate({ world: 3 }) })]), /stages\[1\]\.validation\.world: world 3 is trained on/)
    expectOneLineError(run([script({ ...base, stages: evaluate({ world: 0 }) })]), /world 0 is trained on/)
    expectOneLineError(run([script({ ...base, env: { name: "house" }, stages: evaluate({ world: 4 }) })]), /house splits its tasks per world seed.*validation worlds are for qa/)
  })

  it("generated data from other world seeds is refused where splits are per seed (shop, house), with the reason", () => {
    expectOneLineError(run([script({ ...base, env: { name: "house" }, data: { generate: { n: 4, seeds: [0, 1] } } })]), /data\.generate\.seeds: house splits its tasks per world seed/)
  })
  it("a pipeline without data says what to give", () => {
    expectOneLineError(run([script({ ...base, data: {} })]), /data: give train files, generate, or both/)
  })
  it("a missing dataset names the file", () => {
    expectOneLineError(run([script({ ...base, data: { train: ["nowhere/missing.arrows"] } })]), /dataset nowhere\/missing\.arrows does not exist/)
  })
  it("an incompatible init checkpoint is refused before any work", () => {
    expectOneLineError(run([script({ ...base, init: { checkpoint: NodePath.join(dir, "no-such-checkpoint") } })]), /no-such-checkpoint/)
  })
  it("a missing script, a script without a default export, a bad --set", () => {
    expectOneLineError(run([NodePath.join(dir, "nope.ts")]), /no such pipeline script/)
    const noDefault = NodePath.join(dir, "nodefault.ts")
    NodeFs.writeFileSync(noDefault, "export const x = 1\n")
    expectOneLineError(run([noDefault]), /does not default-export a pipeline/)
    expectOneLineError(run([script(base), "--set", "stages.7.epochs=1"]), /has no element 7/)
    expectOneLineError(run([script(base), "--set", "seed=-3"]), /seed/)
  })
  it("data.generate trains on expert trajectories generated from several qa worlds; curveEvery logs curve points", () => {
    const out = NodePath.join(dir, `out${n++}`)
    const definition = { ...base, data: { generate: { n: 6, seeds: [0, 5] } }, stages: [{ stage: "sft", epochs: 1, curveEvery: 1, curveEpisodes: 1 }, { stage: "evaluate", n: 1, actionAccuracyTasks: 1, validation: { world: 9, episodes: 2 } }] }
    // wasm: the cpu backend takes tens of seconds for one SFT step of six whole qa trajectories
    const r = NodeChild.spawnSync(node, [bin, "run", script(definition), "--out", out], { cwd: root, encoding: "utf8", env: { ...process.env, STEPAGENT_BACKEND: "wasm" } })
    expect(r.status, r.stderr).toBe(0)
    const runDir = r.stdout.split("\n")[0]!.trim()
    const metrics = NodeFs.readFileSync(NodePath.join(runDir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>)
    expect(metrics.filter((m) => m["stage"] as unknown === "sft")).toHaveLength(1) // 6 trajectories, batches of 8
    const summary = JSON.parse(NodeFs.readFileSync(NodePath.join(runDir, "eval/summary.json"), "utf8")) as { outcomes: ReadonlyArray<unknown>; actionAccuracy: number; validation: { world: number; episodes: number } }
    expect(summary.outcomes).toHaveLength(1)
    // the validation world's train tasks: a world the data was not generated from
    expect(summary.validation).toMatchObject({ world: 9, episodes: 2 })
    expect(metrics.some((m) => "eval/validation_success_rate" in m)).toBe(true)
    // one learning-curve point after the epoch, at the optimizer step it was taken
    const curve = metrics.filter((m) => m["stage"] as unknown === "sft_curve")
    expect(curve).toHaveLength(1)
    expect(curve[0]!["step"]).toBe(1)
    for (const k of ["curve/success_rate", "curve/train_success_rate", "curve/action_accuracy", "curve/train_action_accuracy"]) expect(curve[0]![k]).toBeGreaterThanOrEqual(0)
    expect(summary.actionAccuracy).toBeGreaterThanOrEqual(0)
    expect(r.stdout).toMatch(/\neval: test success 0\.0% of 1 episodes .*; validation success \d+\.\d% \(world 9\); action accuracy /)
  }, 120_000)
})
