import * as tf from "@tensorflow/tfjs"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll } from "vitest"
import * as Checkpoint from "../../src/model/Checkpoint.ts"
import * as Optimizer from "../../src/model/Optimizer.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as FaultRun from "../pipeline/FaultRun.ts"
import * as Fixtures from "./Fixtures.ts"

beforeAll(Fixtures.cpu)

const tmpDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "stepagent-ckpt-"))),
  (d) => Effect.promise(() => fs.rm(d, { recursive: true, force: true }))
)

const logitsOf = (m: Transformer.Model): Array<number> => {
  const t = Fixtures.trajectory(50, 3)
  const l = tf.tidy(() => Transformer.logits(m, Transformer.forward(m, tf.tensor2d(t.tokens, [1, t.tokens.length], "int32")).hidden))
  const out = Array.from(l.dataSync())
  l.dispose()
  return out
}

/** A policy after two optimizer steps (non-trivial moments), its frozen reference and an rng mid-stream. */
const trained = () => {
  const policy = Transformer.init(Fixtures.tinyConfig(), 21)
  const reference = Transformer.freeze(policy)
  const opt = Optimizer.make(Transformer.named(policy.weights), { learningRate: 1e-2 })
  const t = Fixtures.trajectory(51, 2)
  for (let i = 0; i < 2; i++) Optimizer.minimize(opt, Fixtures.sftLoss(policy, [t]))
  Optimizer.minimize(opt, () => tf.tidy(() => {
    const v = Transformer.value(policy, Transformer.forward(policy, tf.tensor2d(t.tokens, [1, t.tokens.length], "int32")).hidden)
    return tf.mean(tf.square(tf.sub(v, 1))) as tf.Scalar
  }))
  const rng = Rng.make(5)
  Rng.uniform(rng)
  return { policy, reference, opt, rng }
}

describe("Checkpoint", () => {
  it.effect("round-trips weights, optimizer state, rng, counters and the tokenizer: identical logits", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tmpDir, "ckpt")
      const { opt, policy, reference, rng } = trained()
      const tokenizer = Fixtures.byteTokenizer()
      yield* Checkpoint.save(dir, {
        models: { policy: { model: policy, optimizer: opt }, reference: { model: reference } },
        tokenizer,
        rng: { sample: Rng.state(rng) },
        counters: { iteration: 3 },
        meta: { run: "r1" }
      })
      const before = tf.memory().numTensors
      const l = yield* Checkpoint.load(dir, { configs: { policy: policy.config }, tokenizerHash: tokenizer.hash })
      const p2 = l.models["policy"]!
      expect(logitsOf(p2.model)).toEqual(logitsOf(policy))
      expect(logitsOf(l.models["reference"]!.model)).toEqual(logitsOf(reference))
      expect(Transformer.named(l.models["reference"]!.model.weights).every(([, v]) => !v.trainable)).toBe(true)
      expect(p2.optimizer!.step).toBe(opt.step)
      expect(p2.optimizer!.config).toEqual(opt.config)
      opt.slots.forEach((s, i) => {
        expect(Array.from(p2.optimizer!.slots[i]!.m.dataSync())).toEqual(Array.from(s.m.dataSync()))
        expect(Array.from(p2.optimizer!.slots[i]!.v.dataSync())).toEqual(Array.from(s.v.dataSync()))
      })
      expect(l.models["reference"]!.optimizer).toBeUndefined()
      const rng2 = Rng.fromState(l.rng["sample"]!)
      expect(Rng.uniform(rng2)).toBe(Rng.uniform(rng))
      expect(l.counters).toEqual({ iteration: 3 })
      expect(l.meta).toEqual({ run: "r1" })
      expect(l.tokenizer.json).toEqual(tokenizer.toJSON())
      // the weights are binary float32, not JSON numbers
      const files = (yield* Effect.promise(() => fs.readdir(dir))).sort()
      expect(files).toEqual(["manifest.json", "manifest.sha256", "policy.optimizer.bin", "policy.weights.bin", "reference.weights.bin", "tokenizer.json"])
      const size = (yield* Effect.promise(() => fs.stat(path.join(dir, "policy.weights.bin")))).size
      expect(size).toBe(4 * Transformer.parameterCount(policy.config))
      // training resumes identically from the restored state
      const t = Fixtures.trajectory(52, 2)
      const step = (m: Transformer.Model, o: Optimizer.Optimizer) => Optimizer.minimize(o, () => tf.tidy(() => {
        const v = Transformer.value(m, Transformer.forward(m, tf.tensor2d(t.tokens, [1, t.tokens.length], "int32")).hidden)
        return tf.mean(tf.square(tf.sub(v, 2))) as tf.Scalar
      }))
      step(policy, opt)
      step(p2.model, p2.optimizer!)
      expect(logitsOf(p2.model)).toEqual(logitsOf(policy))
      Checkpoint.dispose(l)
      expect(tf.memory().numTensors).toBe(before) // loading leaves nothing behind once disposed
      for (const m of [policy, reference]) Transformer.dispose(m)
      Optimizer.dispose(opt)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("fails clearly on a config or tokenizer mismatch, and on a missing checkpoint", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tmpDir, "ckpt")
      const m = Transformer.init(Fixtures.tinyConfig(), 1)
      yield* Checkpoint.save(dir, { models: { policy: { model: m } }, tokenizer: Fixtures.byteTokenizer("a") })
      const e1 = yield* Effect.flip(Checkpoint.load(dir, { configs: { policy: { ...m.config, dModel: 64 } } }))
      assert.strictEqual(e1.reason, "ConfigMismatch")
      expect(e1.message).toContain("dModel 32 (checkpoint) vs 64 (expected)")
      expect(e1.message).not.toContain("\n")
      const e2 = yield* Effect.flip(Checkpoint.load(dir, { tokenizerHash: Fixtures.byteTokenizer("b").hash }))
      assert.strictEqual(e2.reason, "TokenizerMismatch")
      expect(e2.message).toContain("hash-of-a")
      const e3 = yield* Effect.flip(Checkpoint.load(path.join(dir, "nope")))
      assert.strictEqual(e3.reason, "NotFound")
      Transformer.dispose(m)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("detects a corrupted weights file", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tmpDir, "ckpt")
      const m = Transformer.init(Fixtures.tinyConfig(), 1)
      yield* Checkpoint.save(dir, { models: { policy: { model: m } }, tokenizer: Fixtures.byteTokenizer() })
      const f = path.join(dir, "policy.weights.bin")
      const b = yield* Effect.promise(() => fs.readFile(f))
      b[100] = b[100]! ^ 0xff
      yield* Effect.promise(() => fs.writeFile(f, b))
      const e = yield* Effect.flip(Checkpoint.load(dir))
      assert.strictEqual(e.reason, "Corrupt")
      expect(e.message).toContain("policy.weights.bin")
      Transformer.dispose(m)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("detects a flipped digit in the manifest and a truncated file, each in one line", () =>
    Effect.gen(function*() {
      const root = yield* tmpDir
      const { opt, policy, reference } = trained()
      Transformer.dispose(reference)
      const save = (dir: string) => Checkpoint.save(dir, { models: { policy: { model: policy, optimizer: opt } }, tokenizer: Fixtures.byteTokenizer() })
      // the optimizer's step (Adam's bias correction) one higher: valid JSON, and nothing else checks it
      const a = path.join(root, "a")
      yield* save(a)
      const manifest = path.join(a, "manifest.json")
      const text = yield* Effect.promise(() => fs.readFile(manifest, "utf8"))
      expect(text).toContain(`"step": ${opt.step}`)
      yield* Effect.promise(() => fs.writeFile(manifest, text.replace(`"step": ${opt.step}`, `"step": ${opt.step + 1}`)))
      const e1 = yield* Effect.flip(Checkpoint.load(a))
      assert.strictEqual(e1.reason, "Corrupt")
      expect(e1.message).toBe(`checkpoint ${a}: manifest.json does not match its checksum`)
      // the optimizer moments cut in half
      const b = path.join(root, "b")
      yield* save(b)
      const moments = path.join(b, "policy.optimizer.bin")
      yield* Effect.promise(async () => fs.truncate(moments, (await fs.stat(moments)).size / 2))
      const e2 = yield* Effect.flip(Checkpoint.load(b))
      assert.strictEqual(e2.reason, "Corrupt")
      expect(e2.message).toBe(`checkpoint ${b}: policy.optimizer.bin does not match its checksum`)
      // a checkpoint whose manifest checksum is gone is not trusted either
      const c = path.join(root, "c")
      yield* save(c)
      yield* Effect.promise(() => fs.rm(path.join(c, "manifest.sha256")))
      expect((yield* Effect.flip(Checkpoint.load(c))).message).toBe(`checkpoint ${c}: manifest.sha256 is missing`)
      Optimizer.dispose(opt)
      Transformer.dispose(policy)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("a crash mid-write leaves the previous checkpoint loadable", () =>
    Effect.gen(function*() {
      const root = yield* tmpDir
      const dir = path.join(root, "ckpt")
      const m1 = Transformer.init(Fixtures.tinyConfig(), 1)
      yield* Checkpoint.save(dir, { models: { policy: { model: m1 } }, tokenizer: Fixtures.byteTokenizer(), counters: { step: 1 } })
      // crash while writing the temporary directory: a half-written temp dir is left behind
      yield* Effect.promise(async () => {
        await fs.mkdir(`${dir}.tmp-deadbeef`)
        await fs.writeFile(path.join(`${dir}.tmp-deadbeef`, "policy.weights.bin"), new Uint8Array(10))
      })
      const a = yield* Checkpoint.load(dir)
      expect(a.counters).toEqual({ step: 1 })
      expect(logitsOf(a.models["policy"]!.model)).toEqual(logitsOf(m1))
      Checkpoint.dispose(a)
      // crash between moving the old copy aside and moving the new one in: the old copy is found
      yield* Effect.promise(() => fs.rename(dir, `${dir}.old-cafe`))
      const b = yield* Checkpoint.load(dir)
      expect(b.counters).toEqual({ step: 1 })
      expect(b.path).toBe(`${dir}.old-cafe`)
      Checkpoint.dispose(b)
      // the next save succeeds and cleans the leftovers up
      const m2 = Transformer.init(Fixtures.tinyConfig(), 2)
      yield* Checkpoint.save(dir, { models: { policy: { model: m2 } }, tokenizer: Fixtures.byteTokenizer(), counters: { step: 2 } })
      const c = yield* Checkpoint.load(dir)
      expect(c.counters).toEqual({ step: 2 })
      expect(logitsOf(c.models["policy"]!.model)).toEqual(logitsOf(m2))
      Checkpoint.dispose(c)
      expect((yield* Effect.promise(() => fs.readdir(root))).sort()).toEqual(["ckpt"])
      // replacing an existing checkpoint
      yield* Checkpoint.save(dir, { models: { policy: { model: m1 } }, tokenizer: Fixtures.byteTokenizer(), counters: { step: 3 } })
      const d = yield* Checkpoint.load(dir)
      expect(d.counters).toEqual({ step: 3 })
      Checkpoint.dispose(d)
      expect((yield* Effect.promise(() => fs.readdir(root))).sort()).toEqual(["ckpt"])
      for (const m of [m1, m2]) Transformer.dispose(m)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  // A tmpfs needs root: elsewhere this case is skipped.
  const disk = path.join(os.tmpdir(), `stepagent-ckpt-disk-${process.pid}`)
  it.effect.skipIf(!FaultRun.canMount(disk))("a write the file system refuses (a full disk) fails in one line and leaves no temporary behind", () =>
    Effect.gen(function*() {
      FaultRun.mount(disk, "64k") // the tiny model's weights are ~100 KB
      yield* Effect.addFinalizer(() => Effect.sync(() => FaultRun.umount(disk)))
      const m = Transformer.init(Fixtures.tinyConfig(), 1)
      const dir = path.join(disk, "ckpt")
      const e = yield* Effect.flip(Checkpoint.save(dir, { models: { policy: { model: m } }, tokenizer: Fixtures.byteTokenizer() }))
      assert.strictEqual(e.reason, "Io")
      expect(e.message).toMatch(/^checkpoint .*: cannot write: ENOSPC: no space left on device/)
      expect(e.message).not.toContain("\n")
      expect(yield* Effect.promise(() => fs.readdir(disk))).toEqual([])
      Transformer.dispose(m)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("refuses to replace a directory that is not a checkpoint", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tmpDir, "precious")
      yield* Effect.promise(async () => {
        await fs.mkdir(dir)
        await fs.writeFile(path.join(dir, "notes.txt"), "keep me")
      })
      const m = Transformer.init(Fixtures.tinyConfig(), 1)
      const exit = yield* Effect.exit(Checkpoint.save(dir, { models: { policy: { model: m } }, tokenizer: Fixtures.byteTokenizer() }))
      assert.isTrue(Exit.isFailure(exit))
      const e = yield* Effect.flip(Checkpoint.save(dir, { models: { policy: { model: m } }, tokenizer: Fixtures.byteTokenizer() }))
      assert.strictEqual(e.reason, "Io")
      expect(e.message).toBe(`checkpoint ${dir}: cannot write: the path exists and is not a checkpoint (no manifest.json); refusing to replace it`)
      expect(yield* Effect.promise(() => fs.readFile(path.join(dir, "notes.txt"), "utf8"))).toBe("keep me")
      expect((yield* Effect.promise(() => fs.readdir(path.dirname(dir))))).toEqual(["precious"]) // its temporary removed
      Transformer.dispose(m)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
})
