import * as tf from "@tensorflow/tfjs"
import { Effect, FileSystem } from "effect"
import * as crypto from "node:crypto"
import * as path from "node:path"
import type { Tokenizer } from "../data/Tokenizer.ts"
import * as Failpoint from "../fault/Failpoint.ts"
import * as SystemMessage from "../fault/SystemMessage.ts"
import { CheckpointError } from "./CheckpointError.ts"
import * as Optimizer from "./Optimizer.ts"
import * as Transformer from "./Transformer.ts"

/**
 * Checkpoints: one directory holding every model of a run (policy, frozen reference, reward model,
 * discriminator...), their optimizer states, the tokenizer, RNG states and step counters.
 *
 * Layout:
 *   manifest.json              format, per-model config / tensor table / optimizer config and step,
 *                              tokenizer hash, rng, counters, meta, sha256 of every other file
 *   manifest.sha256            sha256 of manifest.json itself (format /2): a flipped digit in an optimizer step
 *                              or a tensor offset would otherwise load silently
 *   tokenizer.json             the tokenizer's own JSON (`Tokenizer.toJSON()`)
 *   <model>.weights.bin        float32 little-endian, tensors back to back in `Transformer.specs` order
 *   <model>.optimizer.bin      Adam's first then second moment of every tensor, same order
 *
 * Atomic: everything is written into a sibling temporary directory, each file fsynced, then the directory
 * is renamed into place. Replacing an existing checkpoint moves it aside first (`<dir>.old-*`) and deletes
 * it last; a crash between the two renames leaves that complete old copy, which `load` falls back to.
 * A crash before the rename leaves only a `<dir>.tmp-*` directory, which `load` ignores and the next `save` to
 * that path removes before writing; a write the file system refuses (a full disk) removes its own.
 * Once a save touches the disk it runs to its end (an interruption waits for it), and every file operation goes
 * through the `FileSystem` service, fsyncs included (`File.sync` on each file and on the directories renamed in).
 */
export const format = "stepagent-checkpoint/2"
/** Checkpoints written before manifest.sha256 existed: still loaded, their manifest unchecked. */
const formatV1 = "stepagent-checkpoint/1"
const manifestSum = "manifest.sha256"

export interface Entry {
  readonly model: Transformer.Model
  readonly optimizer?: Optimizer.Optimizer | undefined
}

export interface Contents {
  readonly models: Readonly<Record<string, Entry>> // e.g. { policy, reference }
  readonly tokenizer: Tokenizer
  readonly rng?: Readonly<Record<string, ReadonlyArray<number>>> // `Rng.state` of each random stream
  readonly counters?: Readonly<Record<string, number>> // step counters (iteration, samples seen, ...)
  readonly meta?: unknown // any JSON the caller wants back (run id, metrics at save time)
}

interface TensorEntry {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly offset: number // in float32 elements
}

interface ModelManifest {
  readonly config: Transformer.Config
  readonly trainable: boolean // false for a frozen copy (the reference)
  readonly tensors: ReadonlyArray<TensorEntry>
  readonly optimizer: { readonly config: Optimizer.Config; readonly step: number } | null
}

interface Manifest {
  readonly format: typeof format | typeof formatV1
  readonly models: Readonly<Record<string, ModelManifest>>
  readonly tokenizer: { readonly hash: string; readonly vocabSize: number }
  readonly rng: Readonly<Record<string, ReadonlyArray<number>>>
  readonly counters: Readonly<Record<string, number>>
  readonly meta: unknown
  readonly sha256: Readonly<Record<string, string>>
}

const io = (dir: string, what: string) => (e: unknown): CheckpointError =>
  new CheckpointError({ reason: "Io", path: dir, message: `checkpoint ${dir}: ${what}: ${SystemMessage.of(e)}` })

const corrupt = (dir: string, why: string): CheckpointError =>
  new CheckpointError({ reason: "Corrupt", path: dir, message: `checkpoint ${dir}: ${why}` })

const validName = (n: string): boolean => /^[A-Za-z0-9_-]+$/.test(n)

const sha256 = (b: Uint8Array): string => crypto.createHash("sha256").update(b).digest("hex")

/** Float32 bytes of tensors back to back (read synchronously: no tensor crosses the writes that follow). */
const bytesOf = (tensors: ReadonlyArray<tf.Tensor>): { readonly bytes: Uint8Array; readonly offsets: ReadonlyArray<number> } => {
  const total = tensors.reduce((n, t) => n + t.size, 0)
  const all = new Float32Array(total)
  const offsets: Array<number> = []
  let o = 0
  for (const t of tensors) {
    offsets.push(o)
    all.set(t.dataSync() as Float32Array, o)
    o += t.size
  }
  return { bytes: new Uint8Array(all.buffer), offsets }
}

/** Writes a file and fsyncs it (closed at the end, also on failure). */
const writeDurably = (fs: FileSystem.FileSystem, file: string, data: Uint8Array) =>
  Effect.scoped(Effect.gen(function*() {
    const h = yield* fs.open(file, { flag: "w" })
    yield* h.writeAll(data) // every byte (a write may take a part)
    yield* h.sync
  }))

/** fsyncs a directory: the entries created or renamed in it are on disk. */
const syncDir = (fs: FileSystem.FileSystem, dir: string) => Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (h) => h.sync))

/** True when `p` can be stat'ed (any failure counts as absent). */
const present = (fs: FileSystem.FileSystem, p: string): Effect.Effect<boolean> =>
  fs.stat(p).pipe(Effect.match({ onFailure: () => false, onSuccess: () => true }))

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** Serialises everything in memory first (synchronously), then writes. */
const serialise = (c: Contents): { readonly manifest: Manifest; readonly files: ReadonlyArray<readonly [string, Uint8Array]> } => {
  const files: Array<readonly [string, Uint8Array]> = []
  const models: Record<string, ModelManifest> = {}
  for (const [name, e] of Object.entries(c.models)) {
    if (!validName(name)) throw new Error(`checkpoint model name ${JSON.stringify(name)} must be letters, digits, _ or -`)
    const named = Transformer.named(e.model.weights)
    const w = bytesOf(named.map(([, v]) => v))
    files.push([`${name}.weights.bin`, w.bytes])
    const opt = e.optimizer
    if (opt !== undefined) {
      files.push([`${name}.optimizer.bin`, bytesOf([...opt.slots.map((s) => s.m), ...opt.slots.map((s) => s.v)]).bytes])
    }
    models[name] = {
      config: e.model.config,
      trainable: named[0]![1].trainable,
      tensors: named.map(([n, v], i) => ({ name: n, shape: v.shape, offset: w.offsets[i]! })),
      optimizer: opt === undefined ? null : { config: opt.config, step: opt.step }
    }
  }
  files.push(["tokenizer.json", new TextEncoder().encode(JSON.stringify(c.tokenizer.toJSON()))])
  const manifest: Manifest = {
    format,
    models,
    tokenizer: { hash: c.tokenizer.hash, vocabSize: c.tokenizer.vocabSize },
    rng: c.rng ?? {},
    counters: c.counters ?? {},
    meta: c.meta ?? null,
    sha256: Object.fromEntries(files.map(([f, b]) => [f, sha256(b)]))
  }
  return { manifest, files }
}

/** Writes a checkpoint atomically to `dir` (replacing one already there). */
export const save = Effect.fn("Checkpoint.save")(function*(dir: string, contents: Contents) {
  const { files, manifest } = yield* Effect.try({ try: () => serialise(contents), catch: io(dir, "cannot serialise") })
  const fs = yield* FileSystem.FileSystem
  const abs = path.resolve(dir)
  const parent = path.dirname(abs)
  const base = path.basename(abs)
  const nonce = crypto.randomBytes(6).toString("hex")
  const tmp = `${abs}.tmp-${nonce}`
  const old = `${abs}.old-${nonce}`
  const manifestText = JSON.stringify(manifest, null, 1)
  const remove = (p: string) => fs.remove(p, { recursive: true, force: true })
  const siblings = (prefix: string) => Effect.map(fs.readDirectory(parent), (all) => all.filter((f) => f.startsWith(prefix)))
  yield* Effect.gen(function*() {
    yield* fs.makeDirectory(parent, { recursive: true })
    // temporaries of earlier killed saves to this path: never complete, and on a full disk they hold the space
    for (const f of yield* siblings(`${base}.tmp-`)) yield* remove(path.join(parent, f))
    yield* fs.makeDirectory(tmp)
    yield* Effect.gen(function*() {
      for (const [f, b] of files) {
        yield* writeDurably(fs, path.join(tmp, f), b)
        yield* Failpoint.hit("checkpoint.file")
      }
      yield* writeDurably(fs, path.join(tmp, "manifest.json"), utf8(manifestText))
      yield* writeDurably(fs, path.join(tmp, manifestSum), utf8(`${sha256(utf8(manifestText))}\n`))
      yield* syncDir(fs, tmp)
    }).pipe(Effect.onError(() => Effect.ignore(remove(tmp))))
    yield* Failpoint.hit("checkpoint.rename")
    const exists = yield* present(fs, abs)
    if (exists && !(yield* present(fs, path.join(abs, "manifest.json")))) {
      yield* remove(tmp)
      return yield* new CheckpointError({
        reason: "Io",
        path: dir,
        message: `checkpoint ${dir}: cannot write: the path exists and is not a checkpoint (no manifest.json); refusing to replace it`
      })
    }
    if (exists) yield* fs.rename(abs, old)
    if (exists) yield* Failpoint.hit("checkpoint.replace")
    yield* fs.rename(tmp, abs)
    yield* syncDir(fs, parent)
    if (exists) yield* remove(old)
    // copies left by earlier saves killed between their two renames
    for (const f of yield* siblings(`${base}.old-`)) yield* remove(path.join(parent, f))
  }).pipe(
    Effect.mapError((e) => e._tag === "PlatformError" ? io(dir, "cannot write")(e) : e),
    Effect.uninterruptible
  )
})

export interface Expect {
  readonly configs?: Readonly<Record<string, Transformer.Config>> // each named model must have exactly this config
  readonly tokenizerHash?: string
}

export interface LoadedEntry {
  readonly model: Transformer.Model
  readonly optimizer: Optimizer.Optimizer | undefined
}

export interface Loaded {
  readonly path: string // the directory actually read (an `.old-*` copy after a crash mid-replace)
  readonly models: Readonly<Record<string, LoadedEntry>>
  readonly tokenizer: { readonly json: unknown; readonly hash: string; readonly vocabSize: number }
  readonly rng: Readonly<Record<string, ReadonlyArray<number>>>
  readonly counters: Readonly<Record<string, number>>
  readonly meta: unknown
}

/** Where a checkpoint at `dir` really is: `dir`, or the complete old copy a crash mid-replace left. */
const locate = (fs: FileSystem.FileSystem, abs: string): Effect.Effect<string | undefined> =>
  Effect.gen(function*() {
    if (yield* present(fs, path.join(abs, "manifest.json"))) return abs
    const parent = path.dirname(abs)
    const base = path.basename(abs)
    const siblings = yield* fs.readDirectory(parent).pipe(Effect.orElseSucceed((): Array<string> => []))
    for (const f of siblings.sort()) {
      if (f.startsWith(`${base}.old-`) && (yield* present(fs, path.join(parent, f, "manifest.json")))) return path.join(parent, f)
    }
    return undefined
  })

const configDiff = (got: Transformer.Config, want: Transformer.Config): string | undefined => {
  const keys = [...new Set([...Object.keys(got), ...Object.keys(want)])].sort() as Array<keyof Transformer.Config>
  const diffs = keys.filter((k) => got[k] !== want[k]).map((k) => `${k} ${String(got[k])} (checkpoint) vs ${String(want[k])} (expected)`)
  return diffs.length === 0 ? undefined : diffs.join(", ")
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const checkManifest = (dir: string, u: unknown): Manifest => {
  if (!isRecord(u) || (u["format"] !== format && u["format"] !== formatV1)) throw corrupt(dir, `manifest.json is not a ${format} manifest`)
  if (!isRecord(u["models"]) || !isRecord(u["tokenizer"]) || !isRecord(u["sha256"])) throw corrupt(dir, "manifest.json lacks models, tokenizer or sha256")
  return u as unknown as Manifest
}

/** Tensors of a model from its bytes, checked against the manifest's table. */
const modelOf = (dir: string, name: string, mm: ModelManifest, weights: Float32Array, optimizer: Float32Array | undefined): LoadedEntry => {
  const bad = Transformer.checkConfig(mm.config)
  if (bad !== undefined) throw corrupt(dir, `model ${name}: ${bad}`)
  const specs = Transformer.specs(mm.config)
  const table = new Map(mm.tensors.map((t) => [t.name, t] as const))
  const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)
  const total = specs.reduce((n, [, shape]) => n + sizeOf(shape), 0)
  if (weights.length !== total) throw corrupt(dir, `${name}.weights.bin holds ${weights.length} floats, the config needs ${total}`)
  const tensors = new Map<string, tf.Tensor>()
  for (const [n, shape] of specs) {
    const t = table.get(n)
    if (t === undefined || t.shape.join(",") !== shape.join(",")) throw corrupt(dir, `model ${name}: tensor ${n} missing or misshapen`)
    tensors.set(n, tf.tensor(weights.subarray(t.offset, t.offset + sizeOf(shape)), [...shape], "float32"))
  }
  const weightsRecord = Transformer.fromNamed(mm.config, tensors, mm.trainable)
  for (const t of tensors.values()) t.dispose()
  const model: Transformer.Model = { config: mm.config, weights: weightsRecord }
  if (mm.optimizer === null) return { model, optimizer: undefined }
  if (optimizer === undefined || optimizer.length !== 2 * total) throw corrupt(dir, `${name}.optimizer.bin missing or of the wrong size`)
  const opt = Optimizer.make(Transformer.named(weightsRecord), mm.optimizer.config)
  opt.step = mm.optimizer.step
  let o = 0
  for (const half of ["m", "v"] as const) {
    for (const s of opt.slots) {
      const from = optimizer.subarray(o, o + s.variable.size)
      tf.tidy(() => s[half].assign(tf.tensor(from, s.variable.shape, "float32"))) // tidy frees the source tensor
      o += s.variable.size
    }
  }
  return { model, optimizer: opt }
}

/**
 * Loads a checkpoint, checking (when given) each model's config and the tokenizer hash. Creates the
 * models' variables: the caller owns them (`Transformer.dispose`, `Optimizer.dispose`).
 */
export const load = Effect.fn("Checkpoint.load")(function*(dir: string, expect: Expect = {}) {
  const fs = yield* FileSystem.FileSystem
  const abs = path.resolve(dir)
  const where = yield* locate(fs, abs)
  if (where === undefined) return yield* new CheckpointError({ reason: "NotFound", path: dir, message: `checkpoint ${dir}: not found (no manifest.json)` })
  const raw = yield* Effect.gen(function*() {
    const manifestBytes = yield* fs.readFile(path.join(where, "manifest.json"))
    const sum = yield* fs.readFileString(path.join(where, manifestSum)).pipe(Effect.match({ onFailure: () => undefined, onSuccess: (t) => t.trim() }))
    const names = (yield* fs.readDirectory(where)).filter((f) => f.endsWith(".bin") || f === "tokenizer.json")
    const files = new Map<string, Uint8Array>()
    for (const f of names) files.set(f, yield* fs.readFile(path.join(where, f)))
    return { manifestBytes, sum, files }
  }).pipe(Effect.mapError(io(dir, "cannot read")))
  // The manifest's own checksum first: every other check trusts the manifest.
  if (raw.sum !== undefined && raw.sum !== sha256(raw.manifestBytes)) return yield* corrupt(dir, "manifest.json does not match its checksum")
  const manifest = yield* Effect.try({
    try: () => checkManifest(dir, JSON.parse(new TextDecoder().decode(raw.manifestBytes))),
    catch: (e) => e instanceof CheckpointError ? e : corrupt(dir, "manifest.json is not valid JSON")
  })
  if (manifest.format === format && raw.sum === undefined) return yield* corrupt(dir, `${manifestSum} is missing`)
  for (const [f, digest] of Object.entries(manifest.sha256)) {
    const b = raw.files.get(f)
    if (b === undefined) return yield* corrupt(dir, `${f} is missing`)
    if (sha256(b) !== digest) return yield* corrupt(dir, `${f} does not match its checksum`)
  }
  if (expect.tokenizerHash !== undefined && expect.tokenizerHash !== manifest.tokenizer.hash) {
    return yield* new CheckpointError({
      reason: "TokenizerMismatch",
      path: dir,
      message: `checkpoint ${dir}: tokenizer hash ${manifest.tokenizer.hash} differs from the expected ${expect.tokenizerHash}`
    })
  }
  for (const [name, want] of Object.entries(expect.configs ?? {})) {
    const got = manifest.models[name]
    if (got === undefined) return yield* new CheckpointError({ reason: "ConfigMismatch", path: dir, message: `checkpoint ${dir}: no model named ${name}` })
    const diff = configDiff(got.config, want)
    if (diff !== undefined) return yield* new CheckpointError({ reason: "ConfigMismatch", path: dir, message: `checkpoint ${dir}: model ${name} config differs: ${diff}` })
  }
  const floats = (f: string): Float32Array | undefined => {
    const b = raw.files.get(f)
    if (b === undefined) return undefined
    const copy = new Uint8Array(b) // aligned copy
    return new Float32Array(copy.buffer, 0, copy.byteLength >> 2)
  }
  const models = yield* Effect.try({
    try: () => {
      const out: Record<string, LoadedEntry> = {}
      try {
        for (const [name, mm] of Object.entries(manifest.models)) {
          const w = floats(`${name}.weights.bin`)
          if (w === undefined) throw corrupt(dir, `${name}.weights.bin is missing`)
          out[name] = modelOf(dir, name, mm, w, floats(`${name}.optimizer.bin`))
        }
      } catch (e) {
        for (const e2 of Object.values(out)) {
          Transformer.dispose(e2.model)
          if (e2.optimizer !== undefined) Optimizer.dispose(e2.optimizer)
        }
        throw e
      }
      return out
    },
    catch: (e) => e instanceof CheckpointError ? e : corrupt(dir, e instanceof Error ? e.message : String(e))
  })
  const tokenizerBytes = raw.files.get("tokenizer.json")
  const tokenizerJson = yield* Effect.try({
    try: (): unknown => tokenizerBytes === undefined ? null : JSON.parse(new TextDecoder().decode(tokenizerBytes)),
    catch: () => corrupt(dir, "tokenizer.json is not valid JSON")
  })
  const loaded: Loaded = {
    path: where,
    models,
    tokenizer: { json: tokenizerJson, hash: manifest.tokenizer.hash, vocabSize: manifest.tokenizer.vocabSize },
    rng: manifest.rng,
    counters: manifest.counters,
    meta: manifest.meta
  }
  return loaded
})

/** Disposes every model and optimizer of a loaded checkpoint. */
export const dispose = (l: Loaded): void => {
  for (const e of Object.values(l.models)) {
    Transformer.dispose(e.model)
    if (e.optimizer !== undefined) Optimizer.dispose(e.optimizer)
  }
}
