import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import type * as Tokenized from "../../src/domain/Tokenized.ts"
import { ACT, BOS, BYTE_OFFSET, EOA, OBS } from "../../src/data/Tokenizer.ts"
import type { Tokenizer } from "../../src/data/Tokenizer.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as ActionBatch from "../../src/model/ActionBatch.ts"
import * as Context from "../../src/model/Context.ts"
import * as Policy from "../../src/model/Policy.ts"
import * as Preset from "../../src/model/Preset.ts"
import * as Rng from "../../src/model/Rng.ts"
import type * as Transformer from "../../src/model/Transformer.ts"

/** Tests run on the cpu backend: exact, and always present. */
export const cpu = async (): Promise<void> => {
  await tf.setBackend("cpu")
  await tf.ready()
}

/** A tiny config for fast tests (vocabulary: specials + bytes). */
export const tinyConfig = (overrides: Preset.Overrides = {}): Transformer.Config =>
  Preset.config("tiny", { vocabSize: 262, contextLength: 96, dModel: 32, layers: 2, heads: 4, ...overrides })

/**
 * A synthetic tokenized trajectory laid out as src/domain/Tokenized.ts describes:
 *   <|bos|> instruction (<|obs|> o_i <|act|> a_i <|eoa|>)* [<|obs|> o_final]
 * Token contents are seeded random bytes; lengths are given or drawn.
 */
export const trajectory = (
  seed: number,
  steps: number,
  lengths: { readonly instruction?: number; readonly observation?: number; readonly action?: number } = {}
): Tokenized.TokenizedTrajectory => {
  const rng = Rng.make(seed)
  const byte = () => BYTE_OFFSET + Math.floor(Rng.uniform(rng) * 256)
  const len = (fixed: number | undefined, lo: number, hi: number) => fixed ?? lo + Math.floor(Rng.uniform(rng) * (hi - lo + 1))
  const tokens: Array<number> = [BOS]
  for (let i = len(lengths.instruction, 3, 8); i > 0; i--) tokens.push(byte())
  const spans: Array<number> = []
  for (let s = 0; s < steps; s++) {
    const o0 = tokens.length
    tokens.push(OBS)
    for (let i = len(lengths.observation, 2, 6); i > 0; i--) tokens.push(byte())
    tokens.push(ACT)
    const a0 = tokens.length
    for (let i = len(lengths.action, 1, 4); i > 0; i--) tokens.push(byte())
    tokens.push(EOA)
    spans.push(o0, a0, a0, tokens.length)
  }
  tokens.push(OBS, byte())
  return { id: `t${seed}`, env: "test", taskId: "train:0", reward: 1, success: true, tokens: Int32Array.from(tokens), spans: Int32Array.from(spans) }
}

/** A byte-level tokenizer (no merges): enough for checkpoint tests of the tokenizer contract. */
export const byteTokenizer = (tag = "bytes"): Tokenizer => {
  const enc = new TextEncoder()
  const dec = new TextDecoder()
  return {
    vocabSize: BYTE_OFFSET + 256,
    encode: (text) => Int32Array.from(enc.encode(text), (b) => b + BYTE_OFFSET),
    decode: (ids) => dec.decode(Uint8Array.from(Array.from(ids).filter((i) => i >= BYTE_OFFSET), (i) => i - BYTE_OFFSET)),
    toJSON: () => ({ kind: tag, merges: [] }),
    hash: `hash-of-${tag}`
  }
}

/** The SFT loss of a model on whole trajectories (mean negative log-likelihood of the expert's action tokens). */
export const sftLoss = (m: Transformer.Model, trajs: ReadonlyArray<Tokenized.TokenizedTrajectory>): () => tf.Scalar => {
  const batch = ActionBatch.build(trajs.flatMap((t) => Context.windows(t, m.config.contextLength)))
  return () => tf.tidy(() => {
    const o = Policy.outputs(m, ActionBatch.tensors(batch))
    return tf.neg(tf.div(tf.sum(o.logp), tf.sum(o.mask))) as tf.Scalar
  })
}

/**
 * Training-heavy tests run on wasm through the project's Backend test layer (one thread, the XNNPACK matmul
 * kernels and the UnsortedSegmentSum kernel that gather's gradient needs): the cpu backend's
 * UnsortedSegmentSum loops over every segment, which makes embedding gradients slow.
 */
export const wasm = async (): Promise<void> => {
  await Effect.runPromise(Effect.scoped(Layer.build(Backend.layerTest)))
}
