import * as tf from "@tensorflow/tfjs"
import * as crypto from "node:crypto"
import * as Transformer from "./Transformer.ts"

/**
 * A policy version as one content-addressed byte string: what a learner publishes and a worker acts with
 * (docs/scale-out.md). Its hash names the version: equal weights, config and tokenizer give the same hash,
 * and a unit of work that names a hash is computed with exactly those weights.
 *
 * Layout: a 4-byte little-endian header length, the header as UTF-8 JSON `{format, config, tensors:
 * [{name, shape, offset}], tokenizer}` (the tokenizer's own JSON), zero padding to a multiple of 4, then the
 * weights as float32 little-endian, tensors back to back in `Transformer.named` order. A policy of the qa runs'
 * `small` model (dModel 192, with its tokenizer) is 8.4 MB.
 *
 * Pure and synchronous (the weights are read with `dataSync`): no tensor outlives a call.
 */
export const format = "stepagent-policy/1"

export interface Snapshot {
  readonly hash: string // sha256 of `bytes`, hex
  readonly bytes: Uint8Array
}

interface Header {
  readonly format: typeof format
  readonly config: Transformer.Config
  readonly tensors: ReadonlyArray<{ readonly name: string; readonly shape: ReadonlyArray<number>; readonly offset: number }>
  readonly tokenizer: unknown
}

export const hashOf = (bytes: Uint8Array): string => crypto.createHash("sha256").update(bytes).digest("hex")

/** The model's weights and config and the tokenizer's JSON, as one byte string with its hash. */
export const encode = (model: Transformer.Model, tokenizerJson: unknown): Snapshot => {
  const named = Transformer.named(model.weights)
  const total = named.reduce((n, [, v]) => n + v.size, 0)
  const weights = new Float32Array(total)
  const tensors: Array<Header["tensors"][number]> = []
  let o = 0
  for (const [name, v] of named) {
    tensors.push({ name, shape: v.shape, offset: o })
    weights.set(v.dataSync() as Float32Array, o)
    o += v.size
  }
  const header: Header = { format, config: model.config, tensors, tokenizer: tokenizerJson }
  const text = new TextEncoder().encode(JSON.stringify(header))
  const start = 4 + text.length + ((4 - (text.length % 4)) % 4) // float32 data 4-aligned
  const bytes = new Uint8Array(start + weights.byteLength)
  new DataView(bytes.buffer).setUint32(0, text.length, true)
  bytes.set(text, 4)
  bytes.set(new Uint8Array(weights.buffer), start)
  return { hash: hashOf(bytes), bytes }
}

export interface Decoded {
  readonly model: Transformer.Model // frozen: a worker only acts with it; the caller disposes it
  readonly tokenizerJson: unknown
}

/** The policy of a snapshot, or why the bytes are not one (a wrong hash, a truncated or foreign byte string). */
export const decode = (bytes: Uint8Array, expectedHash?: string): Decoded | string => {
  if (expectedHash !== undefined && hashOf(bytes) !== expectedHash) return `policy snapshot: its sha256 is not ${expectedHash}`
  if (bytes.length < 4) return "policy snapshot: too short"
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true)
  if (4 + length > bytes.length) return "policy snapshot: header longer than the bytes"
  let header: Header
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))) as Header
  } catch {
    return "policy snapshot: header is not JSON"
  }
  if (header.format !== format) return `policy snapshot: format ${String(header.format)}, expected ${format}`
  const bad = Transformer.checkConfig(header.config)
  if (bad !== undefined) return `policy snapshot: ${bad}`
  const start = 4 + length + ((4 - (length % 4)) % 4)
  const floats = (bytes.length - start) / 4
  const specs = Transformer.specs(header.config)
  const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)
  if (floats !== specs.reduce((n, [, shape]) => n + sizeOf(shape), 0)) return "policy snapshot: the weights do not fit the config"
  // a copy: the byte string may sit at any offset of a larger buffer
  const weights = new Float32Array(bytes.slice(start).buffer)
  const table = new Map(header.tensors.map((t) => [t.name, t] as const))
  const tensors = new Map<string, tf.Tensor>()
  for (const [name, shape] of specs) {
    const t = table.get(name)
    if (t === undefined || t.shape.join(",") !== shape.join(",")) {
      for (const x of tensors.values()) x.dispose()
      return `policy snapshot: tensor ${name} missing or misshapen`
    }
    tensors.set(name, tf.tensor(weights.subarray(t.offset, t.offset + sizeOf(shape)), [...shape], "float32"))
  }
  const model: Transformer.Model = { config: header.config, weights: Transformer.fromNamed(header.config, tensors, false) }
  for (const x of tensors.values()) x.dispose()
  return { model, tokenizerJson: header.tokenizer }
}
