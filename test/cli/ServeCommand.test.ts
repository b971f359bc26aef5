import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Readline from "node:readline"
import { NodeServices } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as Bpe from "../../src/data/Bpe.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as Checkpoint from "../../src/model/Checkpoint.ts"
import * as Preset from "../../src/model/Preset.ts"
import * as Transformer from "../../src/model/Transformer.ts"

const root = NodePath.resolve(import.meta.dirname, "../..")
const node = NodePath.join(root, "node_modules/.bin/node")
const bin = NodePath.join(root, "bin/stepagent.ts")
const env = { ...process.env, STEPAGENT_BACKEND: "wasm", STEPAGENT_THREADS: "1", STEPAGENT_MATMUL: "xnnpack" }
const cli = (args: ReadonlyArray<string>) => NodeChild.spawnSync(node, [bin, ...args], { cwd: root, encoding: "utf8", env })

/** A temporary directory (removed when the block's layer closes) holding a run directory: `run/checkpoints/...`. */
class RunDir extends Context.Service<RunDir, { readonly dir: string }>()("test/cli/ServeCommand/RunDir") {}

const layerRunDir = Layer.effect(
  RunDir,
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "serve-cli-"))),
      (d) => Effect.sync(() => NodeFs.rmSync(d, { recursive: true, force: true }))
    )
    // an untrained policy is enough to start a server: a run directory's layout, its LATEST naming the checkpoint
    const tokenizer = yield* Bpe.train(["search[Orchard]", "finish[1897]"], { vocabSize: 270 })
    const model = Transformer.init(Preset.config("tiny", { vocabSize: tokenizer.vocabSize }), 1)
    yield* Checkpoint.save(NodePath.join(dir, "run/checkpoints/unit-0001"), { models: { policy: { model } }, tokenizer, meta: { render: { instruction: "keep" } } })
    Transformer.dispose(model)
    NodeFs.writeFileSync(NodePath.join(dir, "run/checkpoints/LATEST"), "unit-0001\n")
    return { dir }
  })
).pipe(Layer.provide(NodeServices.layer), Layer.provideMerge(Backend.layerTest))

// On the live clock (the test services left out): the server is a real subprocess, asked over real HTTP.
layer(layerRunDir, { excludeTestServices: true })("stepagent serve", (it) => {
  it.effect("announces where it listens, serves the run's latest checkpoint, and stops on SIGTERM", () =>
    Effect.gen(function*() {
      const { dir } = yield* RunDir
      const child = NodeChild.spawn(node, [bin, "serve", "--checkpoint", NodePath.join(dir, "run"), "--port", "0", "--model-name", "tiny"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
      yield* Effect.gen(function*() {
        const line = yield* Effect.promise(() =>
          new Promise<string>((resolve, reject) => {
            Readline.createInterface({ input: child.stdout! }).once("line", resolve)
            child.once("exit", (code) => reject(new Error(`serve exited with ${code}`)))
          })
        )
        const announced = JSON.parse(line) as { url: string; baseUrl: string; model: string; checkpoint: string; contextLength: number; instruction: string }
        expect(announced).toMatchObject({ model: "tiny", contextLength: 128, instruction: "keep" })
        expect(announced.baseUrl).toBe(`${announced.url}/v1`)
        expect(announced.checkpoint).toBe(NodePath.join(dir, "run/checkpoints/unit-0001"))
        const models = (yield* Effect.promise(async () => (await fetch(`${announced.baseUrl}/models`)).json())) as { data: Array<{ id: string }> }
        expect(models.data.map((m) => m.id)).toEqual(["tiny"])
        const r = yield* Effect.promise(() =>
          fetch(`${announced.baseUrl}/chat/completions`, {
            method: "POST",
            body: JSON.stringify({ messages: [{ role: "system", content: "x" }, { role: "user", content: "Question: who?" }], temperature: 0, max_tokens: 4 })
          })
        )
        expect(r.status).toBe(200)
        expect(((yield* Effect.promise(() => r.json())) as { choices: Array<{ token_ids: Array<number> }> }).choices[0]!.token_ids.length).toBeLessThanOrEqual(4)
      }).pipe(Effect.ensuring(Effect.sync(() => child.kill("SIGTERM"))))
      const code = yield* Effect.promise(() => new Promise<number | null>((resolve) => child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", resolve)))
      expect(code === 0 || code === null || code === 130 || code === 143).toBe(true)
    }), 60_000)

  it.effect("a missing checkpoint or a bad port is one line on stderr", () =>
    Effect.gen(function*() {
      const { dir } = yield* RunDir
      const missing = cli(["serve", "--checkpoint", NodePath.join(dir, "nope"), "--port", "0"])
      expect(missing.status).not.toBe(0)
      expect(missing.stderr.trim().split("\n").filter((l) => l.startsWith("stepagent:"))).toHaveLength(1)
      const port = cli(["serve", "--checkpoint", NodePath.join(dir, "run"), "--port", "70000"])
      expect(port.status).not.toBe(0)
      expect(port.stderr).toMatch(/stepagent: port 70000 is out of range/)
      expect(port.stderr).not.toMatch(/\n\s+at /)
    }), 60_000)
})
