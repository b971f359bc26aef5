import * as tf from "@tensorflow/tfjs"

/**
 * A small GPT for the training-step benchmark, written the way STACK.md measured to be fast on tfjs-wasm:
 * 2-D projections (rows = batch·time), separate q/k/v projections with rank-4 transposes (no fused projection,
 * no rank-5 transpose, no unstack), no slicing of activations, `x*x*x` instead of `pow`, tanh-GELU as
 * `x·sigmoid(2u)`, LayerNorm with a hand-written gradient, the token embedding through `gather` (its gradient
 * is the UnsortedSegmentSum kernel), a scalar loss out of the step.
 */

export interface Config {
  readonly batch: number
  readonly seq: number
  readonly dModel: number
  readonly layers: number
  readonly heads: number
  readonly vocab: number
}

/** The benchmark's model: STACK.md's GPT (batch 8, seq 256, d_model 256, 4 layers, 8 heads, vocab 512). */
export const benchConfig: Config = { batch: 8, seq: 256, dModel: 256, layers: 4, heads: 8, vocab: 512 }

interface Layer {
  readonly ln1g: tf.Variable
  readonly ln1b: tf.Variable
  readonly wq: tf.Variable
  readonly wk: tf.Variable
  readonly wv: tf.Variable
  readonly wo: tf.Variable
  readonly bo: tf.Variable
  readonly ln2g: tf.Variable
  readonly ln2b: tf.Variable
  readonly w1: tf.Variable
  readonly b1: tf.Variable
  readonly w2: tf.Variable
  readonly b2: tf.Variable
}

export interface Model {
  readonly config: Config
  readonly wte: tf.Variable
  readonly wpe: tf.Variable
  readonly layers: ReadonlyArray<Layer>
  readonly lnfg: tf.Variable
  readonly lnfb: tf.Variable
  readonly head: tf.Variable
  readonly variables: ReadonlyArray<tf.Variable>
  /** Additive causal mask (T, T): 0 on and below the diagonal, -1e9 above. */
  readonly mask: tf.Tensor2D
}

/** GPT-2's initialisation scale for weights. */
const initStd = 0.02

/** LayerNorm's epsilon (GPT-2's). */
const eps = 1e-5

export const make = (config: Config, seed: number): Model => {
  let s = seed
  const normal = (shape: Array<number>, std: number = initStd) => tf.variable(tf.randomNormal(shape, 0, std, "float32", s++))
  const ones = (n: number) => tf.variable(tf.ones([n]))
  const zeros = (n: number) => tf.variable(tf.zeros([n]))
  const C = config.dModel
  // Residual projections scaled by 1/sqrt(2·layers), as GPT-2 does.
  const residualStd = initStd / Math.sqrt(2 * config.layers)
  const layers = Array.from({ length: config.layers }, (): Layer => ({
    ln1g: ones(C),
    ln1b: zeros(C),
    wq: normal([C, C]),
    wk: normal([C, C]),
    wv: normal([C, C]),
    wo: normal([C, C], residualStd),
    bo: zeros(C),
    ln2g: ones(C),
    ln2b: zeros(C),
    w1: normal([C, 4 * C]),
    b1: zeros(4 * C),
    w2: normal([4 * C, C], residualStd),
    b2: zeros(C)
  }))
  const wte = normal([config.vocab, C])
  const wpe = normal([config.seq, C])
  const lnfg = ones(C)
  const lnfb = zeros(C)
  const head = normal([C, config.vocab])
  const variables = [wte, wpe, ...layers.flatMap((l) => Object.values(l) as Array<tf.Variable>), lnfg, lnfb, head]
  const mask = tf.tidy(() => {
    const i = tf.range(0, config.seq, 1, "int32")
    const above = tf.greater(i.expandDims(0), i.expandDims(1)) // (T, T): column > row
    return tf.where(above, tf.fill([config.seq, config.seq], -1e9), tf.zeros([config.seq, config.seq])) as tf.Tensor2D
  })
  return { config, wte, wpe, layers, lnfg, lnfb, head, variables, mask }
}

/** LayerNorm over the last axis of (N, C) with its gradient written out (tfjs's autodiff of it is slow on wasm). */
const layerNorm = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc]
  const mean = tf.mean(x, -1, true) // (N, 1)
  const xc = tf.sub(x, mean)
  const variance = tf.mean(tf.mul(xc, xc), -1, true)
  const rstd = tf.rsqrt(tf.add(variance, eps)) // (N, 1)
  const xhat = tf.mul(xc, rstd) // (N, C)
  save([xhat, rstd, g])
  return {
    value: tf.add(tf.mul(xhat, g), b),
    gradFunc: (dy, saved) => {
      const [xh, rs, gain] = saved as [tf.Tensor, tf.Tensor, tf.Tensor]
      const d = dy as tf.Tensor
      const dxhat = tf.mul(d, gain) // (N, C)
      const dx = tf.mul(rs, tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xh, tf.mean(tf.mul(dxhat, xh), -1, true))))
      return [dx, tf.sum(tf.mul(d, xh), 0), tf.sum(d, 0)]
    }
  }
}) as (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor

/** tanh-GELU, as `x·sigmoid(2u)` with u = sqrt(2/π)(x + 0.044715x³) (the same function, fewer kernels). */
const gelu = (x: tf.Tensor): tf.Tensor => {
  const u2 = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), 2 * Math.sqrt(2 / Math.PI))
  return tf.mul(x, tf.sigmoid(u2))
}

/** (B·T, C) -> (B, H, T, D) */
const heads = (x: tf.Tensor, c: Config): tf.Tensor =>
  tf.transpose(tf.reshape(x, [c.batch, c.seq, c.heads, c.dModel / c.heads]), [0, 2, 1, 3])

/** Mean next-token cross-entropy of `ids` (B·T int32) predicting `targets` (B·T int32). */
export const loss = (model: Model, ids: tf.Tensor1D, targets: tf.Tensor1D): tf.Scalar => {
  const c = model.config
  const C = c.dModel
  const N = c.batch * c.seq
  const D = C / c.heads
  const tok = tf.gather(model.wte, ids) // (N, C)
  let x = tf.reshape(tf.add(tf.reshape(tok, [c.batch, c.seq, C]), model.wpe), [N, C]) // (N, C)
  for (const l of model.layers) {
    const h = layerNorm(x, l.ln1g, l.ln1b)
    const q = heads(tf.mul(tf.matMul(h, l.wq), 1 / Math.sqrt(D)), c) // (B, H, T, D), pre-scaled
    const k = heads(tf.matMul(h, l.wk), c)
    const v = heads(tf.matMul(h, l.wv), c)
    const att = tf.softmax(tf.add(tf.matMul(q, k, false, true), model.mask)) // (B, H, T, T)
    const y = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [N, C]) // (N, C)
    x = tf.add(x, tf.add(tf.matMul(y, l.wo), l.bo))
    const h2 = layerNorm(x, l.ln2g, l.ln2b)
    const m = gelu(tf.add(tf.matMul(h2, l.w1), l.b1)) // (N, 4C)
    x = tf.add(x, tf.add(tf.matMul(m, l.w2), l.b2))
  }
  const logits = tf.matMul(layerNorm(x, model.lnfg, model.lnfb), model.head) // (N, V)
  const logp = tf.logSoftmax(logits)
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(targets, c.vocab), logp), -1))) as tf.Scalar
}

/** Seeded token ids for one batch: (B·T) inputs and their next-token targets. */
export const batch = (config: Config, seed: number): { ids: tf.Tensor1D; targets: tf.Tensor1D } => {
  const n = config.batch * config.seq
  let state = seed >>> 0
  const next = () => {
    // xorshift32: a fixed, seeded token stream
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state % config.vocab
  }
  const stream = Int32Array.from({ length: n + 1 }, next)
  return { ids: tf.tensor1d(stream.subarray(0, n), "int32"), targets: tf.tensor1d(stream.subarray(1), "int32") }
}

/** One Adam step; returns the loss before the step. */
export const step = (model: Model, optimizer: tf.Optimizer, ids: tf.Tensor1D, targets: tf.Tensor1D): number => {
  const cost = optimizer.minimize(() => loss(model, ids, targets), true, model.variables as Array<tf.Variable>)
  if (cost === null) throw new Error("no loss")
  const value = cost.dataSync()[0]
  cost.dispose()
  return value
}
