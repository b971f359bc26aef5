import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Console, Effect, Stream } from "effect"
import { Command } from "effect/cli"
import * as TokenizerTrainCommand from "../../src/cli/TokenizerTrainCommand.ts"
import * as Bpe from "../../src/data/Bpe.ts"
import * as Render from "../../src/data/Render.ts"
import * as TrajectoryArrow from "../../src/data/TrajectoryArrow.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"

const colors = ["blue", "red", "green", "black"]
const items = ["cotton t-shirt", "running shoes", "coffee mug", "yoga mat"]
const trajectory = (i: number): Trajectory => {
  const q = `${colors[i % 4]} ${items[(i >> 2) % 4]}`
  return {
    id: `t${i}`,
    env: "shop",
    taskId: `train:${i}`,
    instruction: `Find a ${q} under ${10 + (i % 30)} dollars.`,
    steps: [
      { observation: `WebShop [SEP] i need a ${q} [SEP] Search`, thought: `I search for the ${q}.`, action: `search[${q}]` },
      { observation: `[Back to Search] [B0${i}X] ${q} $${(i * 1.5).toFixed(2)}`, action: `click[B0${i}X]` }
    ],
    ...(i % 3 === 0 ? { finalObservation: "Thank you for shopping!" } : {}),
    reward: i % 2,
    success: i % 2 === 1,
    source: "generated:shop"
  }
}
const first = Array.from({ length: 40 }, (_, i) => trajectory(i))
const second = Array.from({ length: 25 }, (_, i) => trajectory(40 + i))

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokenizer-train-"))
const a = path.join(dir, "a.arrows")
const b = path.join(dir, "b.arrows")
await Effect.runPromise(Stream.fromIterable(first).pipe(TrajectoryArrow.write(a)))
await Effect.runPromise(Stream.fromIterable(second).pipe(TrajectoryArrow.write(b)))

/** Runs the command in process; returns the lines it printed. */
const run = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const console: Console.Console = { ...globalThis.console, log: (...xs: ReadonlyArray<unknown>) => void lines.push(xs.map(String).join(" ")) }
    yield* Command.runWith(TokenizerTrainCommand.command, { version: "test", renderErrors: false })(args).pipe(
      Effect.provideService(Console.Console, console)
    )
    return lines
  }).pipe(Effect.provide(NodeServices.layer))

describe("tokenizer train", () => {
  it.effect("trains on several inputs and prints a one-line summary", () =>
    Effect.gen(function*() {
      const out = path.join(dir, "tok.json")
      const lines = yield* run(["--input", a, "--input", b, "--vocab", "300", "--out", out])
      assert.strictEqual(lines.length, 1)
      const summary = JSON.parse(lines[0]!) as Record<string, unknown>
      const texts = [...first, ...second].flatMap(Render.texts)
      assert.strictEqual(summary["trajectories"], 65)
      assert.strictEqual(summary["texts"], texts.length)
      assert.strictEqual(summary["bytes"], texts.reduce((n, t) => n + Buffer.byteLength(t), 0))
      assert.strictEqual(summary["vocab"], 300)
      assert.strictEqual(summary["merges"], 300 - 262)
      assert.strictEqual(summary["out"], out)
      assert.isNumber(summary["seconds"])
      const tok = yield* Bpe.loadFile(out)
      assert.strictEqual(summary["hash"], tok.hash)
      // Same merges as training on the same texts in memory.
      const direct = yield* Bpe.train(texts, { vocabSize: 300 })
      assert.strictEqual(direct.hash, tok.hash)
    }).pipe(Effect.provide(NodeServices.layer)))
  it.effect("is byte-for-byte reproducible", () =>
    Effect.gen(function*() {
      const o1 = path.join(dir, "r1.json")
      const o2 = path.join(dir, "r2.json")
      yield* run(["--input", a, "--input", b, "--vocab", "320", "--out", o1])
      yield* run(["--input", a, "--input", b, "--vocab", "320", "--out", o2])
      assert.strictEqual(fs.readFileSync(o1, "utf8"), fs.readFileSync(o2, "utf8"))
    }))
  it.effect("rejects a vocabulary below 262, naming the flag", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip(run(["--input", a, "--vocab", "100", "--out", path.join(dir, "x.json")]))
      assert.strictEqual(err._tag, "BpeError")
      assert.match(err.message, /^--vocab 100: vocabulary size 100 must be an integer between 262/)
      assert.isFalse(fs.existsSync(path.join(dir, "x.json")))
    }))
  it.effect("a missing input is a one-line error naming the file", () =>
    Effect.gen(function*() {
      const missing = path.join(dir, "missing.arrows")
      const err = yield* Effect.flip(run(["--input", a, "--input", missing, "--out", path.join(dir, "y.json")]))
      assert.strictEqual(err._tag, "DataError")
      assert.include(err.message, missing)
    }))
  it.effect("a file that is not Arrow is a one-line error naming the file", () =>
    Effect.gen(function*() {
      const bogus = path.join(dir, "bogus.arrows")
      fs.writeFileSync(bogus, "this is not arrow\n")
      const err = yield* Effect.flip(run(["--input", bogus, "--out", path.join(dir, "z.json")]))
      assert.strictEqual(err._tag, "DataError")
      assert.include(err.message, bogus)
    }))
})

describe("tokenizer train (the stepagent binary)", () => {
  const bin = path.resolve(import.meta.dirname, "../../bin/stepagent.ts")
  /** Runs the CLI as a child; stdin is closed (the CLI waits on an open stdin pipe before exiting). */
  const cli = (args: ReadonlyArray<string>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (d: Buffer) => stdout += d.toString())
      child.stderr.on("data", (d: Buffer) => stderr += d.toString())
      child.on("error", reject)
      child.on("close", (code) => resolve({ code, stdout, stderr }))
    })
  it("prints the summary on stdout and exits 0", async () => {
    const out = path.join(dir, "bin.json")
    const { code, stdout } = await cli(["tokenizer", "train", "--input", a, "--vocab", "280", "--out", out])
    assert.strictEqual(code, 0)
    const lines = stdout.trim().split("\n")
    assert.strictEqual(lines.length, 1)
    assert.strictEqual((JSON.parse(lines[0]!) as { vocab: number }).vocab, 280)
  })
  it("a bad --vocab prints one line on stderr and exits 1", async () => {
    const { code, stderr } = await cli(["tokenizer", "train", "--input", a, "--vocab", "7", "--out", path.join(dir, "bad.json")])
    assert.strictEqual(code, 1)
    assert.strictEqual(stderr, "stepagent: --vocab 7: vocabulary size 7 must be an integer between 262 (6 specials + 256 bytes) and 2097152\n")
  })
})
