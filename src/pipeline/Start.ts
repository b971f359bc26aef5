import * as NodePath from "node:path"
import { Console, DateTime, Effect, FileSystem, Schema } from "effect"
import { Backend, describe } from "../model/backend/Backend.ts"
import * as RunDir from "../report/RunDir.ts"
import * as InitialState from "./InitialState.ts"
import * as Pipeline from "./Pipeline.ts"
import { PipelineError } from "./PipelineError.ts"
import * as RunFiles from "./RunFiles.ts"
import * as Runner from "./Runner.ts"
import * as RunState from "./RunState.ts"

/** Reads a pipeline script, applies overrides and validates it: every error names the file and field. */
export const resolve = (script: string, sets: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const raw = yield* Pipeline.load(script)
    const overridden = yield* Pipeline.override(script, raw, sets)
    const p = yield* Pipeline.decode(script, overridden)
    yield* Pipeline.checkDatasets(script, p)
    return p
  })

/** `20261205T040814Z`: the run directory's time stamp. */
const stamp = (t: DateTime.Utc) => DateTime.formatIso(t).replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")

const PackageJson = Schema.Struct({ version: Schema.String })

/** The versions config.json records: Node's and the packages whose code computes the run. */
const versions = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const out: Record<string, string> = { node: process.version }
  for (const pkg of ["effect", "apache-arrow", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"]) {
    const path = NodePath.join("node_modules", pkg, "package.json")
    const exists = yield* fs.exists(path).pipe(Effect.mapError(RunFiles.ioError(path)))
    if (!exists) {
      out[pkg] = "unknown"
      continue
    }
    const json = yield* RunFiles.parseJson(path, yield* fs.readFileString(path).pipe(Effect.mapError(RunFiles.ioError(path))))
    out[pkg] = (yield* Schema.decodeUnknownEffect(PackageJson)(json).pipe(
      Effect.mapError(() => new PipelineError({ reason: "RunDirectory", message: `${path}: no version` }))
    )).version
  }
  return out
})

/** `stepagent run`: a new run directory, printed on the first line, then the whole pipeline; the report's path last. */
export const start = (script: string, options: { readonly out: string; readonly sets: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const p = yield* resolve(script, options.sets)
    const resolved = yield* Pipeline.encode(script, p)
    const hash = Pipeline.hash(resolved)
    const info = yield* Backend
    const base = NodePath.join(options.out, `${p.name}__${p.seed}__${stamp(yield* DateTime.now)}`)
    const taken = (dir: string) => fs.exists(dir).pipe(Effect.mapError(RunFiles.ioError(dir)))
    let runDir = base
    for (let i = 2; yield* taken(runDir); i++) runDir = `${base}-${i}`
    for (const sub of ["checkpoints", "eval", "samples"]) {
      yield* fs.makeDirectory(NodePath.join(runDir, sub), { recursive: true }).pipe(Effect.mapError(RunFiles.ioError(runDir)))
    }
    yield* Console.log(runDir)
    const config: RunDir.RunConfig = {
      pipeline: p.name,
      method: p.method,
      seed: p.seed,
      script,
      config: resolved,
      hash,
      backend: {
        name: info.name,
        matmul: info.matmul,
        threads: info.name === "wasm" ? Math.max(info.threads.blas, info.threads.wasm) : info.name === "cpu" ? 1 : info.threads.tensorflow, // compute threads
        threadDetail: info.threads,
        description: describe(info)
      },
      versions: yield* versions,
      createdAt: DateTime.formatIso(yield* DateTime.now)
    }
    yield* RunFiles.writeJson(NodePath.join(runDir, RunDir.CONFIG), RunDir.RunConfig, config)
    const { initial, tokenizer } = yield* InitialState.initialState(p)
    yield* RunFiles.writeAtomic(NodePath.join(runDir, "tokenizer.json"), JSON.stringify(tokenizer.toJSON()) + "\n")
    const report = yield* Runner.execute(runDir, p, hash, RunState.origin, initial, tokenizer)
    yield* Console.log(`report: ${report}`)
    return runDir
  })
