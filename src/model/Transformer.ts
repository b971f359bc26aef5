import * as tf from "@tensorflow/tfjs"
import * as Gelu from "./Gelu.ts"
import * as LayerNorm from "./LayerNorm.ts"
import * as Rng from "./Rng.ts"

/**
 * The policy network, nanoGPT-style: decoder-only, pre-norm, causal self-attention, learned positions,
 * GELU MLP, LM head tied to the token embedding, and a value head (a scalar per position).
 * Written the way STACK.md measured to be fast on wasm: the residual stream is kept 2-D (B*T, C) so that
 * every weight matmul is a plain 2-D product; separate q/k/v projections with rank-4 transposes; keys are
 * stored transposed (B, H, D, T) so that no attention product needs a transposed operand; GELU as
 * x * sigmoid(2u); x*x*x, not pow; GELU and LayerNorm with hand-written gradients (memory: Gelu.ts); embeddings via gather.
 * Notation: B batch, T sequence, C model width, H heads, D = C / H head width, F MLP width, V vocabulary.
 */
export interface Config {
  readonly vocabSize: number // V: the tokenizer's vocabulary
  readonly contextLength: number // longest sequence the learned positions cover
  readonly dModel: number // C
  readonly layers: number // transformer blocks
  readonly heads: number // H (must divide C)
  readonly mlpRatio: number // F = mlpRatio * C
  readonly tieEmbeddings: boolean // LM head = token embedding transposed
  readonly initStd: number // std of the normal initialisation of weights
  readonly layerNormEps: number // LayerNorm epsilon
  readonly copyHead?: boolean // a pointer (copy) head beside the LM head (src/model/Copy.ts); absent = false
  readonly copyMatch?: boolean // the copy head's learned bias per suffix-match length (Copy.ts); absent = false (older checkpoints)
}

export const defaults = {
  mlpRatio: 4, // GPT-2's MLP width
  tieEmbeddings: true, // with small widths the V x C embedding is a large share of the weights: tying halves it, and GPT-2 ties
  initStd: 0.02, // GPT-2 / nanoGPT initialisation
  layerNormEps: 1e-5 // PyTorch's LayerNorm default
} as const

export interface Block {
  readonly ln1Gain: tf.Variable // (C,)
  readonly ln1Bias: tf.Variable // (C,)
  readonly wq: tf.Variable // (C, C)
  readonly bq: tf.Variable // (C,)
  readonly wk: tf.Variable // (C, C)
  readonly bk: tf.Variable // (C,)
  readonly wv: tf.Variable // (C, C)
  readonly bv: tf.Variable // (C,)
  readonly wo: tf.Variable // (C, C)
  readonly bo: tf.Variable // (C,)
  readonly ln2Gain: tf.Variable // (C,)
  readonly ln2Bias: tf.Variable // (C,)
  readonly w1: tf.Variable // (C, F)
  readonly b1: tf.Variable // (F,)
  readonly w2: tf.Variable // (F, C)
  readonly b2: tf.Variable // (C,)
}

export interface Weights {
  readonly tokenEmbedding: tf.Variable // (V, C)
  readonly positionEmbedding: tf.Variable // (contextLength, C)
  readonly blocks: ReadonlyArray<Block>
  readonly lnfGain: tf.Variable // (C,)
  readonly lnfBias: tf.Variable // (C,)
  readonly head: tf.Variable | undefined // (C, V) when not tied
  readonly valueWeight: tf.Variable // (C, 1)
  readonly valueBias: tf.Variable // (1,)
  readonly copy: CopyWeights | undefined // when config.copyHead
}

/** The copy head's weights (src/model/Copy.ts): query and key projections and the gate. */
export interface CopyWeights {
  readonly query: tf.Variable // (C, K)
  readonly key: tf.Variable // (C, K)
  readonly gate: tf.Variable // (C, 1)
  readonly gateBias: tf.Variable // (1,)
  readonly match: tf.Variable | undefined // (matchCap + 1,) when config.copyMatch: score bias per suffix-match length
}

/** K, the copy head's query/key width: a quarter of the model width (an attention head's width in `small`), at least 16. */
export const copyWidth = (c: Config): number => Math.max(16, Math.floor(c.dModel / 4))

const copyKeys = [["copy.query", "query"], ["copy.key", "key"], ["copy.gate", "gate"], ["copy.gateBias", "gateBias"]] as const

/** The longest suffix match the copy head scores (Copy.ts): 4 tokens tell apart repeats of " of", "," or a digit group within a name or number. */
export const matchCap = 4

/** A network: its config and its weights. A frozen copy (`freeze`) has non-trainable variables. */
export interface Model {
  readonly config: Config
  readonly weights: Weights
}

type Init = "normal" | "residual" | "zeros" | "ones"
type Spec = readonly [name: string, shape: ReadonlyArray<number>, init: Init]

const blockKeys = ["ln1Gain", "ln1Bias", "wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo", "ln2Gain", "ln2Bias", "w1", "b1", "w2", "b2"] as const

/** Every weight's name, shape and initialisation, in a fixed order (checkpoints and optimizers use it). */
export const specs = (c: Config): ReadonlyArray<Spec> => {
  const C = c.dModel
  const F = c.mlpRatio * C
  const block = (i: number): Array<Spec> => {
    const shapes: Record<typeof blockKeys[number], readonly [ReadonlyArray<number>, Init]> = {
      ln1Gain: [[C], "ones"], ln1Bias: [[C], "zeros"],
      wq: [[C, C], "normal"], bq: [[C], "zeros"], wk: [[C, C], "normal"], bk: [[C], "zeros"],
      wv: [[C, C], "normal"], bv: [[C], "zeros"], wo: [[C, C], "residual"], bo: [[C], "zeros"],
      ln2Gain: [[C], "ones"], ln2Bias: [[C], "zeros"],
      w1: [[C, F], "normal"], b1: [[F], "zeros"], w2: [[F, C], "residual"], b2: [[C], "zeros"]
    }
    return blockKeys.map((k) => [`h${i}.${k}`, shapes[k][0], shapes[k][1]] as const)
  }
  return [
    ["tokenEmbedding", [c.vocabSize, C], "normal"],
    ["positionEmbedding", [c.contextLength, C], "normal"],
    ...Array.from({ length: c.layers }, (_, i) => block(i)).flat(),
    ["lnfGain", [C], "ones"],
    ["lnfBias", [C], "zeros"],
    ...(c.tieEmbeddings ? [] : [["head", [C, c.vocabSize], "normal"] as const]),
    ["valueWeight", [C, 1], "normal"],
    ["valueBias", [1], "zeros"],
    ...(c.copyHead === true
      ? [
        ["copy.query", [C, copyWidth(c)], "normal"] as const,
        ["copy.key", [C, copyWidth(c)], "normal"] as const,
        ["copy.gate", [C, 1], "normal"] as const,
        ["copy.gateBias", [1], "zeros"] as const,
        ...(c.copyMatch === true ? [["copy.match", [matchCap + 1], "zeros"] as const] : [])
      ]
      : [])
  ]
}

export const parameterCount = (c: Config): number =>
  specs(c).reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0)

/** The weights in `specs` order, with their names. */
export const named = (w: Weights): ReadonlyArray<readonly [string, tf.Variable]> => [
  ["tokenEmbedding", w.tokenEmbedding],
  ["positionEmbedding", w.positionEmbedding],
  ...w.blocks.flatMap((b, i) => blockKeys.map((k) => [`h${i}.${k}`, b[k]] as const)),
  ["lnfGain", w.lnfGain],
  ["lnfBias", w.lnfBias],
  ...(w.head === undefined ? [] : [["head", w.head] as const]),
  ["valueWeight", w.valueWeight],
  ["valueBias", w.valueBias],
  ...(w.copy === undefined ? [] : copyKeys.map(([n, k]) => [n, w.copy![k]] as const)),
  ...(w.copy?.match === undefined ? [] : [["copy.match", w.copy.match] as const])
]

/** Builds the record from tensors named as in `specs` (each becomes a variable; `trainable` false for a frozen copy). */
export const fromNamed = (c: Config, tensors: ReadonlyMap<string, tf.Tensor>, trainable = true): Weights => {
  const v = (name: string): tf.Variable => {
    const t = tensors.get(name)
    if (t === undefined) throw new Error(`Transformer: no weight ${name}`)
    return tf.variable(t, trainable)
  }
  const blocks = Array.from({ length: c.layers }, (_, i) => {
    const b = {} as Record<typeof blockKeys[number], tf.Variable>
    for (const k of blockKeys) b[k] = v(`h${i}.${k}`)
    return b as Block
  })
  return {
    tokenEmbedding: v("tokenEmbedding"),
    positionEmbedding: v("positionEmbedding"),
    blocks,
    lnfGain: v("lnfGain"),
    lnfBias: v("lnfBias"),
    head: c.tieEmbeddings ? undefined : v("head"),
    valueWeight: v("valueWeight"),
    valueBias: v("valueBias"),
    copy: c.copyHead === true
      ? { query: v("copy.query"), key: v("copy.key"), gate: v("copy.gate"), gateBias: v("copy.gateBias"), match: c.copyMatch === true ? v("copy.match") : undefined }
      : undefined
  }
}

export const checkConfig = (c: Config): string | undefined => {
  const ints: ReadonlyArray<keyof Config> = ["vocabSize", "contextLength", "dModel", "layers", "heads", "mlpRatio"]
  for (const k of ints) {
    const x = c[k]
    if (typeof x !== "number" || !Number.isInteger(x) || x < 1) return `${k} must be a positive integer (got ${String(x)})`
  }
  if (c.dModel % c.heads !== 0) return `dModel (${c.dModel}) must be a multiple of heads (${c.heads})`
  if (!(c.initStd > 0) || !(c.layerNormEps > 0)) return "initStd and layerNormEps must be positive"
  return undefined
}

/** New weights from a seed: the same seed gives the same weights on every backend (drawn in JS). */
export const init = (c: Config, seed: number): Model => {
  const bad = checkConfig(c)
  if (bad !== undefined) throw new Error(`Transformer config: ${bad}`)
  const rng = Rng.make(seed)
  const residualStd = c.initStd / Math.sqrt(2 * c.layers) // GPT-2: residual projections scaled by 1/sqrt(2 * layers)
  const tensors = new Map<string, tf.Tensor>()
  for (const [name, shape, kind] of specs(c)) {
    const size = shape.reduce((a, b) => a * b, 1)
    const data = new Float32Array(size)
    if (kind === "ones") data.fill(1)
    else if (kind !== "zeros") {
      const std = kind === "residual" ? residualStd : c.initStd
      const r = Rng.split(rng)
      for (let i = 0; i < size; i++) data[i] = std * Rng.normal(r)
    }
    tensors.set(name, tf.tensor(data, [...shape], "float32"))
  }
  const weights = fromNamed(c, tensors)
  for (const t of tensors.values()) t.dispose()
  return { config: c, weights }
}

/** A frozen copy (the reference model): same values, variables not trainable, independent of later updates. */
export const freeze = (m: Model): Model => {
  const tensors = new Map(named(m.weights).map(([n, v]) => [n, v as tf.Tensor] as const))
  return { config: m.config, weights: fromNamed(m.config, tensors, false) }
}

export const dispose = (m: Model): void => {
  for (const [, v] of named(m.weights)) v.dispose()
}

/** (B*T, C) -> (B, H, T, D) */
const splitHeads = (x: tf.Tensor2D, B: number, T: number, H: number): tf.Tensor4D =>
  tf.transpose(tf.reshape(x, [B, T, H, -1]), [0, 2, 1, 3])

/** (B*T, C) -> (B, H, D, T): keys, transposed once so that q @ k needs no transposed operand. */
const splitHeadsT = (x: tf.Tensor2D, B: number, T: number, H: number): tf.Tensor4D =>
  tf.transpose(tf.reshape(x, [B, T, H, -1]), [0, 2, 3, 1])

/** (B, H, T, D) -> (B*T, C) */
const mergeHeads = (y: tf.Tensor4D, C: number): tf.Tensor2D => tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [-1, C])

const linear = (x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D => tf.add(tf.matMul(x, w as tf.Tensor2D), b)

const mlp = (c: Config, blk: Block, x: tf.Tensor2D): tf.Tensor2D => {
  const h = LayerNorm.layerNorm(x, blk.ln2Gain as tf.Tensor1D, blk.ln2Bias as tf.Tensor1D, c.layerNormEps) // (N, C)
  return linear(Gelu.gelu(linear(h, blk.w1, blk.b1)), blk.w2, blk.b2) // (N, F) -> (N, C)
}

/** The same block MLP without the custom-gradient bookkeeping, for inference (decoding, `extend`). */
const mlpInference = (c: Config, blk: Block, x: tf.Tensor2D): tf.Tensor2D => {
  const h = LayerNorm.layerNormInference(x, blk.ln2Gain as tf.Tensor1D, blk.ln2Bias as tf.Tensor1D, c.layerNormEps) // (N, C)
  return linear(Gelu.geluInference(linear(h, blk.w1, blk.b1)), blk.w2, blk.b2) // (N, F) -> (N, C)
}

/**
 * Rows s..e-1 of the additive causal mask over e positions, (e - s, e): 0 on and below the diagonal, -1e9 above. Built
 * in JS (bandPart is slow on wasm); a bounded cache of the arrays, never of tensors.
 */
const masks = new Map<string, Float32Array>()
const causalMask = (s: number, e: number): tf.Tensor2D => {
  const key = `${s}:${e}`
  let data = masks.get(key)
  if (data === undefined) {
    data = new Float32Array((e - s) * e)
    for (let i = s; i < e; i++) data.fill(-1e9, (i - s) * e + i + 1, (i - s + 1) * e)
    if (masks.size > 256) masks.clear()
    masks.set(key, data)
  }
  return tf.tensor2d(data, [e - s, e])
}

/**
 * Query rows per block of causal attention. Past ~1.5 blocks the queries are split into round(T / 170) blocks, each
 * attending to the keys up to its last row only, so the masked upper triangle is mostly not computed (its scores,
 * softmax and both products, forward and backward). Measured on `small` (XNNPACK, one thread, forward + backward of
 * ~1,200 tokens): T 300 (2 blocks) 5-7% faster, T 512 (3) ~10%, T 1,000 (5-7) ~20%; T 200 unchanged; smaller blocks
 * lose to the per-product overhead of the extra batched calls.
 */
export const attentionBlockRows = 170

/** The query blocks of attention over T positions: rows s..e-1 and their additive mask over keys 0..e-1. */
export interface AttentionBlock {
  readonly s: number
  readonly e: number
  readonly mask: tf.Tensor // (e - s, e), or (B, 1, e - s, e) for a packed layout
}

/**
 * The blocks of causal attention, or of a packed layout's mask (whose rows attend to earlier rows only: ActionBatch
 * appends each branch after its state, so a block never needs a later key). `blockRows` Infinity: one block.
 */
export const attentionBlocks = (T: number, mask?: tf.Tensor4D, blockRows = attentionBlockRows): ReadonlyArray<AttentionBlock> => {
  const n = Math.max(1, Math.round(T / blockRows))
  return Array.from({ length: n }, (_, b) => {
    const s = Math.floor((b * T) / n)
    const e = Math.floor(((b + 1) * T) / n)
    return { s, e, mask: mask === undefined ? causalMask(s, e) : n === 1 ? mask : tf.slice(mask, [0, 0, s, 0], [-1, -1, e - s, e]) }
  })
}

/** Attention in query blocks: q (B, H, T, D) pre-scaled, kT (B, H, D, T), v (B, H, T, D) -> (B, H, T, D). */
export const attention = (q: tf.Tensor4D, kT: tf.Tensor4D, v: tf.Tensor4D, blocks: ReadonlyArray<AttentionBlock>): tf.Tensor4D => {
  const T = q.shape[2]
  const parts = blocks.map(({ e, mask, s }): tf.Tensor4D => {
    const qb = blocks.length === 1 ? q : tf.slice(q, [0, 0, s, 0], [-1, -1, e - s, -1]) // (B, H, e - s, D)
    const kb = e === T ? kT : tf.slice(kT, [0, 0, 0, 0], [-1, -1, -1, e]) // (B, H, D, e)
    const vb = e === T ? v : tf.slice(v, [0, 0, 0, 0], [-1, -1, e, -1]) // (B, H, e, D)
    return tf.matMul(tf.softmax<tf.Tensor4D>(tf.add(tf.matMul(qb, kb), mask)), vb) // (B, H, e - s, D)
  })
  return parts.length === 1 ? parts[0]! : tf.concat<tf.Tensor4D>(parts, 2)
}

export interface Forward {
  readonly hidden: tf.Tensor2D // (B*T, C) after the final LayerNorm
  readonly keys: ReadonlyArray<tf.Tensor4D> // per layer (B, H, D, T)
  readonly values: ReadonlyArray<tf.Tensor4D> // per layer (B, H, T, D)
}

/**
 * Packed sequences (ActionBatch's branches): each token's position and an additive attention mask per
 * sequence, 0 where a row may attend (its ancestors and itself), -1e9 elsewhere. Ancestors come before a row in the
 * sequence (the mask is lower-triangular), which attention in query blocks relies on.
 */
export interface Layout {
  readonly positions: tf.Tensor1D // (B*T,) int32
  readonly mask: tf.Tensor4D // (B, 1, T, T), broadcast over heads
}

/**
 * The forward pass over right-padded sequences (B, T) int32: causal at positions 0..T-1, or with a
 * `layout` (packed trees: the positions and mask it gives). Call inside tf.tidy.
 */
export const forward = (m: Model, tokens: tf.Tensor2D, layout?: Layout): Forward => {
  const c = m.config
  const w = m.weights
  const [B, T] = tokens.shape
  const H = c.heads
  const scale = 1 / Math.sqrt(c.dModel / H)
  const blocks = attentionBlocks(T, layout?.mask) // the query blocks and their masks, shared by the layers
  let x = layout === undefined
    ? tf.reshape<tf.Rank.R2>(tf.add(tf.gather(w.tokenEmbedding, tokens), tf.gather(w.positionEmbedding, tf.range(0, T, 1, "int32"))), [B * T, c.dModel]) // (B, T, C) + (T, C) -> (B*T, C)
    : tf.add<tf.Tensor2D>(tf.reshape(tf.gather(w.tokenEmbedding, tokens), [B * T, c.dModel]), tf.gather(w.positionEmbedding, layout.positions)) // (B*T, C) + (B*T, C)
  const keys: Array<tf.Tensor4D> = []
  const values: Array<tf.Tensor4D> = []
  for (const blk of w.blocks) {
    const h = LayerNorm.layerNorm(x, blk.ln1Gain as tf.Tensor1D, blk.ln1Bias as tf.Tensor1D, c.layerNormEps) // (N, C)
    const q = splitHeads(tf.mul(linear(h, blk.wq, blk.bq), scale), B, T, H) // (B, H, T, D), pre-scaled by 1/sqrt(D)
    const kT = splitHeadsT(linear(h, blk.wk, blk.bk), B, T, H) // (B, H, D, T)
    const v = splitHeads(linear(h, blk.wv, blk.bv), B, T, H) // (B, H, T, D)
    const y = mergeHeads(attention(q, kT, v, blocks), c.dModel) // (B*T, C)
    x = tf.add<tf.Tensor2D>(x, linear(y, blk.wo, blk.bo))
    x = tf.add<tf.Tensor2D>(x, mlp(c, blk, x))
    keys.push(kT)
    values.push(v)
  }
  const hidden = LayerNorm.layerNorm(x, w.lnfGain as tf.Tensor1D, w.lnfBias as tf.Tensor1D, c.layerNormEps)
  return { hidden, keys, values }
}

/** Next-token logits at the given hidden states: (N, C) -> (N, V). */
export const logits = (m: Model, hidden: tf.Tensor2D): tf.Tensor2D =>
  m.weights.head === undefined
    ? tf.matMul(hidden, m.weights.tokenEmbedding as tf.Tensor2D, false, true)
    : tf.matMul(hidden, m.weights.head as tf.Tensor2D)

/** Value head: (N, C) -> (N,). */
export const value = (m: Model, hidden: tf.Tensor2D): tf.Tensor1D =>
  tf.reshape(linear(hidden, m.weights.valueWeight, m.weights.valueBias), [-1])

/**
 * Cached keys and values of P prefixes, per layer, each read by G row slots (the rows continuing that
 * prefix: several states of one trajectory are cuts of one sequence; k samples share a state). Batch row
 * (slot) p*G + g reads prefix p at the positions where its mask row is 0 (-1e9 elsewhere). Queries of one
 * prefix's slots form one (G, D) x (D, Tp) product per head: the prefix is neither copied per row nor
 * multiplied G times.
 */
export interface PrefixCache {
  readonly keys: ReadonlyArray<tf.Tensor4D> // per layer (P, H, D, Tp)
  readonly values: ReadonlyArray<tf.Tensor4D> // per layer (P, H, Tp, D)
  readonly mask: tf.Tensor4D // (P, 1, G, Tp) additive
}

/** Keys and values of the tokens generated so far, per slot (all slots have the same number, Tn). */
export interface RecentCache {
  readonly keys: ReadonlyArray<tf.Tensor4D> // per layer (S, H, Tn, D), S = P * G
  readonly values: ReadonlyArray<tf.Tensor4D> // per layer (S, H, Tn, D)
}

/** (P, H, G, X) <-> (S, H, 1, X): between the grouped layout of prefix attention and one row per slot. */
const toSlots = (x: tf.Tensor4D): tf.Tensor4D => {
  const [P, H, G, X] = x.shape
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [P * G, H, 1, X])
}
const toGroups = (x: tf.Tensor4D, G: number): tf.Tensor4D => {
  const [S, H, , X] = x.shape
  return tf.transpose(tf.reshape(x, [S / G, G, H, X]), [0, 2, 1, 3])
}

/**
 * One decoding step: one new token per slot at its own position, attending to its prefix and to the tokens
 * generated so far. Costs one position per slot: the prefix cache is read, never copied or extended.
 * Returns the new tokens' hidden states (S, C) and the recent cache extended by them. Call inside tf.tidy.
 */
export const decode = (
  m: Model,
  tokens: tf.Tensor1D, // (S,) int32
  positions: tf.Tensor1D, // (S,) int32
  prefix: PrefixCache,
  recent: RecentCache | undefined
): { readonly hidden: tf.Tensor2D; readonly recent: RecentCache } => {
  const c = m.config
  const w = m.weights
  const S = tokens.shape[0]
  const H = c.heads
  const G = prefix.mask.shape[2]
  const scale = 1 / Math.sqrt(c.dModel / H)
  let x = tf.add(tf.gather(w.tokenEmbedding, tokens), tf.gather(w.positionEmbedding, positions)) as tf.Tensor2D // (S, C)
  const keys: Array<tf.Tensor4D> = []
  const values: Array<tf.Tensor4D> = []
  const norm = LayerNorm.layerNormInference
  w.blocks.forEach((blk, l) => {
    const h = norm(x, blk.ln1Gain as tf.Tensor1D, blk.ln1Bias as tf.Tensor1D, c.layerNormEps) // (S, C)
    const q = tf.reshape<tf.Rank.R4>(tf.mul(linear(h, blk.wq, blk.bq), scale), [S, H, 1, -1]) // (S, H, 1, D), pre-scaled
    const kNew = tf.reshape<tf.Rank.R4>(linear(h, blk.wk, blk.bk), [S, H, 1, -1]) // (S, H, 1, D)
    const vNew = tf.reshape<tf.Rank.R4>(linear(h, blk.wv, blk.bv), [S, H, 1, -1]) // (S, H, 1, D)
    const k = recent === undefined ? kNew : tf.concat([recent.keys[l]!, kNew], 2) // (S, H, Tn, D)
    const v = recent === undefined ? vNew : tf.concat([recent.values[l]!, vNew], 2) // (S, H, Tn, D)
    // softmax over the union of prefix and recent positions, without concatenating them. The recent part
    // is a per-slot product with Tn <= maxTokens: broadcast multiply-and-sum, not S*H tiny matmuls.
    const sPrefix = tf.add(tf.matMul(toGroups(q, G), prefix.keys[l]!), prefix.mask) // (P, H, G, Tp)
    const sRecent = tf.reshape<tf.Rank.R4>(tf.sum(tf.mul(q, k), -1), [S, H, 1, -1]) // (S, H, 1, Tn)
    const top = tf.maximum(toSlots(tf.max<tf.Tensor4D>(sPrefix, -1, true)), tf.max(sRecent, -1, true)) // (S, H, 1, 1)
    const ePrefix = tf.exp<tf.Tensor4D>(tf.sub(sPrefix, toGroups(top as tf.Tensor4D, G))) // (P, H, G, Tp)
    const eRecent = tf.exp(tf.sub(sRecent, top)) // (S, H, 1, Tn)
    const z = tf.add(toSlots(tf.sum<tf.Tensor4D>(ePrefix, -1, true)), tf.sum(eRecent, -1, true)) // (S, H, 1, 1)
    const yPrefix = toSlots(tf.matMul(ePrefix, prefix.values[l]!)) // (S, H, 1, D)
    const yRecent = tf.sum(tf.mul(tf.reshape(eRecent, [S, H, -1, 1]), v), 2, true) // (S, H, 1, D)
    const y = tf.div(tf.add(yPrefix, yRecent), z) // (S, H, 1, D)
    x = tf.add<tf.Tensor2D>(x, linear(tf.reshape(y, [S, c.dModel]), blk.wo, blk.bo))
    x = tf.add<tf.Tensor2D>(x, mlpInference(c, blk, x))
    keys.push(k)
    values.push(v)
  })
  const hidden = norm(x, w.lnfGain as tf.Tensor1D, w.lnfBias as tf.Tensor1D, c.layerNormEps)
  return { hidden, recent: { keys, values } }
}

/** What `extend` gives: the new positions' hidden states, keys and values, and every position's keys and values. */
export interface Extended {
  readonly hidden: tf.Tensor2D // (B*N, C) the new positions, after the final LayerNorm
  readonly newKeys: ReadonlyArray<tf.Tensor2D> // per layer (B*N, C), position-major
  readonly newValues: ReadonlyArray<tf.Tensor2D> // per layer (B*N, C)
  readonly keys: ReadonlyArray<tf.Tensor4D> // per layer (B, H, D, T): the cached positions and the new ones in place
  readonly values: ReadonlyArray<tf.Tensor4D> // per layer (B, H, T, D)
}

/**
 * The forward pass over new tokens that continue cached positions (inference only). Row b's N new tokens sit at
 * `positions` (B*N,); the sequences it attends over are T positions per row, gathered per layer by `place` (B*T,) from
 * [past (B*T, C) | new (B*N, C)] (without a past, from the new alone): a row's cached positions from its past, then
 * its new ones. `mask` (B, 1, N, T) is additive: 0 where a new token may look. Call inside tf.tidy.
 */
export const extend = (
  m: Model,
  tokens: tf.Tensor2D,
  positions: tf.Tensor1D,
  past: { readonly keys: ReadonlyArray<tf.Tensor2D>; readonly values: ReadonlyArray<tf.Tensor2D> } | undefined,
  place: tf.Tensor1D,
  mask: tf.Tensor4D
): Extended => {
  const c = m.config
  const w = m.weights
  const [B, N] = tokens.shape
  const T = mask.shape[3]
  const H = c.heads
  const scale = 1 / Math.sqrt(c.dModel / H)
  const norm = LayerNorm.layerNormInference
  let x = tf.add<tf.Tensor2D>(tf.reshape(tf.gather(w.tokenEmbedding, tokens), [B * N, c.dModel]), tf.gather(w.positionEmbedding, positions)) // (B*N, C)
  const out = { newKeys: [] as Array<tf.Tensor2D>, newValues: [] as Array<tf.Tensor2D>, keys: [] as Array<tf.Tensor4D>, values: [] as Array<tf.Tensor4D> }
  w.blocks.forEach((blk, l) => {
    const h = norm(x, blk.ln1Gain as tf.Tensor1D, blk.ln1Bias as tf.Tensor1D, c.layerNormEps) // (B*N, C)
    const q = splitHeads(tf.mul(linear(h, blk.wq, blk.bq), scale), B, N, H) // (B, H, N, D), pre-scaled
    const k = linear(h, blk.wk, blk.bk) // (B*N, C)
    const v = linear(h, blk.wv, blk.bv) // (B*N, C)
    const all = (fresh: tf.Tensor2D, old: tf.Tensor2D | undefined): tf.Tensor2D => tf.gather(old === undefined ? fresh : tf.concat([old, fresh], 0), place) // (B*T, C)
    const kT = splitHeadsT(all(k, past?.keys[l]), B, T, H) // (B, H, D, T)
    const vs = splitHeads(all(v, past?.values[l]), B, T, H) // (B, H, T, D)
    const y = tf.matMul(tf.softmax<tf.Tensor4D>(tf.add(tf.matMul(q, kT), mask)), vs) as tf.Tensor4D // (B, H, N, D)
    x = tf.add<tf.Tensor2D>(x, linear(mergeHeads(y, c.dModel), blk.wo, blk.bo))
    x = tf.add<tf.Tensor2D>(x, mlpInference(c, blk, x))
    out.newKeys.push(k)
    out.newValues.push(v)
    out.keys.push(kT)
    out.values.push(vs)
  })
  return { hidden: norm(x, w.lnfGain as tf.Tensor1D, w.lnfBias as tf.Tensor1D, c.layerNormEps), ...out }
}
