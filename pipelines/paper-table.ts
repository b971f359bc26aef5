/**
 * The paper's comparison (StepAgent, arXiv 2411.03817, Table 2 in spirit): every method on every built-in
 * environment, evaluated on held-out test tasks, then the method x environment table.
 *
 *   npx node pipelines/paper-table.ts [--out runs/paper] [--envs shop,house,qa] [--methods ...] [--seed 1]
 *
 * Per environment, the SFT pipeline runs first; its final checkpoint is the shared warm start ("novice") of the
 * other four methods, which then get the same budget (experiment.ts). Each run is an ordinary run directory
 * (resumable, with its report); the table is printed as Markdown and written as table.md and table.json.
 */
import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { envs, type Env, type Method, methods } from "./experiment.ts"

const args = process.argv.slice(2)
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback
}
const out = NodePath.resolve(flag("out", "runs/paper"))
const chosenEnvs = flag("envs", envs.join(",")).split(",") as Array<Env>
const chosenMethods = flag("methods", methods.join(",")).split(",") as Array<Method>
const seed = Number(flag("seed", "1"))
const root = NodePath.resolve(import.meta.dirname, "..")
const node = process.execPath
const bin = NodePath.join(root, "bin/stepagent.ts")

NodeFs.mkdirSync(NodePath.join(out, "pipelines"), { recursive: true })

/** Runs one pipeline script through the CLI; its run directory (the first line it prints), undefined when it failed. */
const failures: Array<string> = []
const run = (script: string): string | undefined => {
  const t0 = Date.now()
  const r = NodeChild.spawnSync(node, [bin, "run", script, "--out", out], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
  const dir = r.stdout.split("\n")[0]!.trim()
  if (r.status !== 0) {
    // One failed run must not lose the others: it is reported, and `stepagent resume <dir>` can continue it.
    failures.push(`${NodePath.basename(script)} failed (exit ${r.status})${dir === "" ? "" : `: ${dir}`}`)
    process.stderr.write(`paper-table: ${failures.at(-1)}\n`)
    return undefined
  }
  process.stderr.write(`paper-table: ${NodePath.basename(script)} -> ${dir} in ${((Date.now() - t0) / 60000).toFixed(1)} min\n`)
  return dir
}

/** A pipeline script for one (env, method), written into the output folder so that the run records it. */
const script = (env: Env, method: Method, init?: string): string => {
  const path = NodePath.join(out, "pipelines", `${env}-${method}.ts`)
  const options = JSON.stringify({ seed, ...(init === undefined ? {} : { init }) })
  NodeFs.writeFileSync(path, `import { experiment } from ${JSON.stringify(NodePath.join(root, "pipelines/experiment.ts"))}\n\nexport default experiment(${JSON.stringify(env)}, ${JSON.stringify(method)}, ${options})\n`)
  return path
}

const t0 = Date.now()
const dirs: Array<string> = []
for (const env of chosenEnvs) {
  const sft = run(script(env, "sft"))
  if (sft === undefined) continue
  dirs.push(sft)
  const latest = NodeFs.readFileSync(NodePath.join(sft, "checkpoints/LATEST"), "utf8").trim()
  const warm = NodePath.join(sft, "checkpoints", latest)
  for (const method of chosenMethods.filter((m) => m !== "sft")) {
    const dir = run(script(env, method, warm))
    if (dir !== undefined) dirs.push(dir)
  }
}
const table = (json: boolean) => NodeChild.spawnSync(node, [bin, "table", ...dirs, ...(json ? ["--json"] : [])], { cwd: root, encoding: "utf8" }).stdout
NodeFs.writeFileSync(NodePath.join(out, "table.md"), table(false))
NodeFs.writeFileSync(NodePath.join(out, "table.json"), table(true))
process.stdout.write(table(false))
process.stdout.write(`\nwall time: ${((Date.now() - t0) / 60000).toFixed(1)} min; runs in ${out}\n`)
for (const f of failures) process.stdout.write(`failed: ${f}\n`)
if (failures.length > 0) process.exitCode = 1
