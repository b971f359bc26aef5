import * as tf from "@tensorflow/tfjs"
import { describe, expect, it } from "@effect/vitest"
import { beforeAll } from "vitest"
import * as PolicySnapshot from "../../src/model/PolicySnapshot.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Fixtures from "./Fixtures.ts"

beforeAll(Fixtures.cpu)

const weightsOf = (m: Transformer.Model): Array<Array<number>> => Transformer.named(m.weights).map(([, v]) => Array.from(v.dataSync()))

describe("PolicySnapshot", () => {
  it("round-trips config, weights and tokenizer JSON bit for bit; the hash names the content", () => {
    const m = Transformer.init({ ...Fixtures.tinyConfig(), copyHead: true, copyMatch: true }, 3)
    const tokenizer = { kind: "bpe", merges: [[1, 2]] }
    const a = PolicySnapshot.encode(m, tokenizer)
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(PolicySnapshot.encode(m, tokenizer).hash).toBe(a.hash) // same content, same name
    const d = PolicySnapshot.decode(a.bytes, a.hash)
    if (typeof d === "string") throw new Error(d)
    expect(d.model.config).toEqual(m.config)
    expect(d.tokenizerJson).toEqual(tokenizer)
    expect(weightsOf(d.model)).toEqual(weightsOf(m))
    expect(Transformer.named(d.model.weights)[0]![1].trainable).toBe(false)
    // a byte string inside a larger buffer (as a database driver hands it over) decodes the same
    const padded = new Uint8Array(a.bytes.length + 3)
    padded.set(a.bytes, 3)
    const e = PolicySnapshot.decode(padded.subarray(3), a.hash)
    if (typeof e === "string") throw new Error(e)
    expect(weightsOf(e.model)).toEqual(weightsOf(m))
    Transformer.dispose(d.model)
    Transformer.dispose(e.model)
    // one weight changed: another version
    tf.tidy(() => Transformer.named(m.weights)[3]![1].assign(tf.add(Transformer.named(m.weights)[3]![1], 1e-3)))
    expect(PolicySnapshot.encode(m, tokenizer).hash).not.toBe(a.hash)
    expect(PolicySnapshot.encode(m, { ...tokenizer, merges: [] }).hash).not.toBe(a.hash)
    Transformer.dispose(m)
  })

  it("refuses bytes that are not a snapshot, with one line", () => {
    const m = Transformer.init(Fixtures.tinyConfig(), 4)
    const a = PolicySnapshot.encode(m, {})
    Transformer.dispose(m)
    expect(PolicySnapshot.decode(a.bytes, "0".repeat(64))).toBe(`policy snapshot: its sha256 is not ${"0".repeat(64)}`)
    expect(PolicySnapshot.decode(a.bytes.subarray(0, a.bytes.length - 4))).toBe("policy snapshot: the weights do not fit the config")
    expect(PolicySnapshot.decode(a.bytes.subarray(0, 2))).toBe("policy snapshot: too short")
    expect(PolicySnapshot.decode(new Uint8Array([255, 255, 0, 0, 1, 2]))).toBe("policy snapshot: header longer than the bytes")
    expect(PolicySnapshot.decode(new Uint8Array([2, 0, 0, 0, 123, 125]))).toMatch(/^policy snapshot: format undefined/)
    expect(PolicySnapshot.decode(new Uint8Array([2, 0, 0, 0, 123, 123]))).toBe("policy snapshot: header is not JSON")
  })
})
