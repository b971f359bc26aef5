import * as tf from "@tensorflow/tfjs"
import { PAD } from "../data/Tokenizer.ts"
import * as Copy from "./Copy.ts"
import * as ModelSample from "./Sample.ts"
import * as Transformer from "./Transformer.ts"

/**
 * Sampling that carries each row's keys and values from one call to the next: an episode's turns. A row's state
 * usually extends the state it last sampled from by that action and the next observation (`Context.state` drops
 * turns in blocks, so most consecutive states share all but their newest tokens), and the positions two states share
 * from their start have the same keys and values: only the new tokens go through the model
 * (`Transformer.extend`), attending to the cached ones. On house's evaluation (the wide model, 16 episodes to the step
 * limit) the states held 265,525 tokens and 22,713 of them were new.
 * The cache lives on the host between calls (`Entry`, plain arrays, position-major so that a row's positions are one
 * block): tensors never outlive a call, so a caller may await between turns. Draws as `ModelSample.sample` (one per
 * live row per token, rows in order); the tokens are the same up to float rounding, since the new positions are
 * computed in other product shapes than a whole prefill.
 */
export interface Entry {
  readonly tokens: Int32Array // (n,) the state the row last sampled from
  readonly keys: ReadonlyArray<Float32Array> // per layer (n, C)
  readonly values: ReadonlyArray<Float32Array> // per layer (n, C)
  readonly copyKeys: Float32Array | undefined // (n, K) the copy head's keys at those positions, when the model has one
}

export interface Row {
  readonly state: Int32Array // the state's tokens (at least one)
  readonly cache: Entry | undefined // what the row's previous call left
}

export interface Result {
  readonly samples: ModelSample.Samples
  readonly caches: ReadonlyArray<Entry> // per row, for its next call
  readonly computed: number // state tokens run through the model (the rest were read from the caches)
}

/** How many leading tokens two sequences share. */
const shared = (a: Int32Array, b: Int32Array): number => {
  const n = Math.min(a.length, b.length)
  let c = 0
  while (c < n && a[c] === b[c]) c++
  return c
}

/** Rows continue `rows[r].state`; the same options and draws as `ModelSample.sample`. */
export const sample = (m: Transformer.Model, rows: ReadonlyArray<Row>, rng: ModelSample.Rngs, options: ModelSample.Options = {}): Result => {
  const c = m.config
  const C = c.dModel
  const K = Transformer.copyWidth(c)
  const B = rows.length
  // row b reads its first `reused[b]` positions from its cache and runs the rest (at least its last token, whose
  // hidden state gives the first logits)
  const reused = rows.map((r) => r.cache === undefined ? 0 : Math.min(shared(r.cache.tokens, r.state), r.state.length - 1))
  const fresh = rows.map((r, b) => r.state.length - reused[b]!)
  const Tp = Math.max(1, ...rows.map((r) => r.state.length))
  const prefixTokens = new Int32Array(B * Tp).fill(PAD)
  rows.forEach((r, b) => prefixTokens.set(r.state, b * Tp))
  const caches = new Array<Entry>(B)
  const samples = ModelSample.decodeFrom(m, { tokens: prefixTokens, length: Tp, lengths: rows.map((r) => r.state.length) }, rows.map((r, b) => ({ prefix: b, length: r.state.length })), rng, options, () => {
    const temporaries: Array<tf.Tensor> = []
    try {
      const passes = groups(fresh).map((g) => {
        const x = extendRows(m, g.map((b) => rows[b]!), g.map((b) => reused[b]!))
        temporaries.push(x.logits, x.value, ...(x.copy === undefined ? [] : [x.copy.query, x.copy.gate]))
        g.forEach((b, i) => (caches[b] = entry(rows[b]!, reused[b]!, x, i, C, K)))
        return { rows: g, ...x }
      })
      // the decoder's prefix caches: every row's whole state, right-padded to Tp
      const keys = Array.from({ length: c.layers }, () => new Float32Array(B * Tp * C))
      const values = Array.from({ length: c.layers }, () => new Float32Array(B * Tp * C))
      const prefixKeys = m.weights.copy === undefined ? undefined : new Float32Array(B * Tp * K)
      caches.forEach((e, b) => {
        for (let l = 0; l < c.layers; l++) {
          keys[l]!.set(e.keys[l]!, b * Tp * C)
          values[l]!.set(e.values[l]!, b * Tp * C)
        }
        if (prefixKeys !== undefined) prefixKeys.set(e.copyKeys!, b * Tp * K)
      })
      const heads = keys.map((k, l) => tf.tidy(() => Transformer.toHeads(c, tf.tensor2d(k, [B * Tp, C]), tf.tensor2d(values[l]!, [B * Tp, C]), B, Tp)))
      // the passes' logits, values and copy queries back in row order
      const order = tf.tensor1d(inverse(passes.flatMap((p) => p.rows)), "int32")
      temporaries.push(order)
      const pick = (ts: ReadonlyArray<tf.Tensor>): tf.Tensor => tf.tidy(() => tf.gather(ts.length === 1 ? ts[0]! : tf.concat([...ts], 0), order))
      const host = (ts: ReadonlyArray<tf.Tensor>): Float32Array => {
        const t = pick(ts)
        const d = t.dataSync() as Float32Array
        t.dispose()
        return d
      }
      const copies = passes.flatMap((p) => p.copy === undefined ? [] : [p.copy])
      return {
        keys: heads.map((h) => h.keys),
        values: heads.map((h) => h.values),
        logits: pick(passes.map((p) => p.logits)),
        value: pick(passes.map((p) => p.value)),
        copy: prefixKeys === undefined || copies.length === 0
          ? undefined
          : { prefixKeys, query: host(copies.map((x) => x.query)), gate: host(copies.map((x) => x.gate)) }
      }
    } finally {
      for (const t of temporaries) t.dispose()
    }
  })
  return { samples, caches, computed: fresh.reduce((a, f) => a + f, 0) }
}

/** The permutation that undoes `order` (order[i] = the row at place i). */
const inverse = (order: ReadonlyArray<number>): Int32Array => {
  const out = new Int32Array(order.length)
  order.forEach((b, i) => (out[b] = i))
  return out
}

/**
 * Rows in passes of similar new lengths: every row of a pass is padded to its longest, so one row that runs its
 * whole state (no cache yet, or turns just dropped) would make fifteen rows of a few new tokens run as many. Rows by
 * new length, longest first; a pass takes the next row while its padded size stays within twice the tokens it holds.
 */
export const groups = (fresh: ReadonlyArray<number>): ReadonlyArray<ReadonlyArray<number>> => {
  const order = fresh.map((_, b) => b).sort((a, b) => fresh[b]! - fresh[a]! || a - b)
  const out: Array<Array<number>> = []
  let current: Array<number> = []
  let sum = 0
  for (const b of order) {
    const f = fresh[b]!
    if (current.length > 0 && (current.length + 1) * fresh[current[0]!]! > 2 * (sum + f)) {
      out.push(current)
      current = []
      sum = 0
    }
    current.push(b)
    sum += f
  }
  if (current.length > 0) out.push(current)
  return out
}

interface Pass {
  readonly width: number // N: the pass's rows padded to N new positions
  readonly keys: ReadonlyArray<Float32Array> // per layer (B*N, C), host
  readonly values: ReadonlyArray<Float32Array> // per layer (B*N, C), host
  readonly copyKeys: Float32Array | undefined // (B*N, K), host
  readonly logits: tf.Tensor2D // (B, V) at each row's last state token
  readonly value: tf.Tensor1D // (B,)
  readonly copy: { readonly query: tf.Tensor2D; readonly gate: tf.Tensor1D } | undefined // (B, K), (B,)
}

/** One pass of `Transformer.extend` over some rows. */
const extendRows = (m: Transformer.Model, rows: ReadonlyArray<Row>, reused: ReadonlyArray<number>): Pass => {
  const c = m.config
  const C = c.dModel
  const B = rows.length
  const copy = m.weights.copy
  const fresh = rows.map((r, b) => r.state.length - reused[b]!)
  const Lp = Math.max(0, ...reused)
  const N = Math.max(1, ...fresh)
  // the new tokens (B, N) at their positions, the cached ones (B, Lp) padded, and the mask over [cached | new]
  const tokens = new Int32Array(B * N).fill(PAD)
  const positions = new Int32Array(B * N)
  const mask = new Float32Array(B * N * (Lp + N)).fill(-1e9)
  const pastKeys = Array.from({ length: Lp === 0 ? 0 : c.layers }, () => new Float32Array(B * Lp * C))
  const pastValues = Array.from({ length: Lp === 0 ? 0 : c.layers }, () => new Float32Array(B * Lp * C))
  rows.forEach((r, b) => {
    const L = reused[b]!
    tokens.set(r.state.subarray(L), b * N)
    for (let i = 0; i < fresh[b]!; i++) positions[b * N + i] = L + i
    for (let i = 0; i < N; i++) {
      const row = (b * N + i) * (Lp + N)
      mask.fill(0, row, row + L) // the cached positions
      mask.fill(0, row + Lp, row + Lp + i + 1) // the new ones, causally (padding rows see themselves only)
    }
    for (let l = 0; l < pastKeys.length && L > 0; l++) {
      pastKeys[l]!.set(r.cache!.keys[l]!.subarray(0, L * C), b * Lp * C)
      pastValues[l]!.set(r.cache!.values[l]!.subarray(0, L * C), b * Lp * C)
    }
  })
  const ext = tf.tidy(() => {
    const past = Lp === 0 ? undefined : {
      keys: pastKeys.map((k) => tf.tensor2d(k, [B * Lp, C])),
      values: pastValues.map((v) => tf.tensor2d(v, [B * Lp, C]))
    }
    const f = Transformer.extend(m, tf.tensor2d(tokens, [B, N], "int32"), tf.tensor1d(positions, "int32"), past, tf.tensor4d(mask, [B, 1, N, Lp + N]))
    const h = tf.gather(f.hidden, tf.tensor1d(rows.map((_, b) => b * N + fresh[b]! - 1), "int32")) // (B, C) at each state's last token
    const at = copy === undefined ? undefined : Copy.project(copy, h)
    return {
      keys: [...f.keys],
      values: [...f.values],
      logits: Transformer.logits(m, h),
      value: Transformer.value(m, h),
      copy: copy === undefined || at === undefined ? undefined : { query: at.query, gate: at.gate, keys: Copy.project(copy, f.hidden).key }
    }
  })
  const host = (t: tf.Tensor): Float32Array => {
    const d = t.dataSync() as Float32Array
    t.dispose()
    return d
  }
  return {
    width: N,
    keys: ext.keys.map(host),
    values: ext.values.map(host),
    copyKeys: ext.copy === undefined ? undefined : host(ext.copy.keys),
    logits: ext.logits,
    value: ext.value,
    copy: ext.copy === undefined ? undefined : { query: ext.copy.query as tf.Tensor2D, gate: ext.copy.gate as tf.Tensor1D }
  }
}

/** Row i of a pass as its next cache: its cached positions (from its old entry), then its new ones. */
const entry = (r: Row, L: number, pass: Pass, i: number, C: number, K: number): Entry => {
  const n = r.state.length
  const from = i * pass.width
  const join = (old: Float32Array | undefined, fresh: Float32Array, w: number): Float32Array => {
    const out = new Float32Array(n * w)
    if (L > 0) out.set(old!.subarray(0, L * w))
    out.set(fresh.subarray(from * w, (from + n - L) * w), L * w)
    return out
  }
  return {
    tokens: r.state.slice(),
    keys: pass.keys.map((k, l) => join(r.cache?.keys[l], k, C)),
    values: pass.values.map((v, l) => join(r.cache?.values[l], v, C)),
    copyKeys: pass.copyKeys === undefined ? undefined : join(r.cache?.copyKeys, pass.copyKeys, K)
  }
}
