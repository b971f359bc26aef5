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
  readonly keys: ReadonlyArray<Float32Array> // per layer (contextLength, C): the first n positions are the state's
  readonly values: ReadonlyArray<Float32Array> // per layer (contextLength, C)
  readonly copyKeys: Float32Array | undefined // (contextLength, K) the copy head's keys, when the model has one
}

export interface Row {
  readonly state: Int32Array // the state's tokens (at least one)
  // what the row's previous call left: the call takes it over (its buffers are written in place and returned in the
  // row's new entry), so an entry is passed once
  readonly cache: Entry | undefined
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
  const K = Transformer.copyWidth(c)
  const B = rows.length
  const given = rows.flatMap((r) => r.cache === undefined ? [] : [r.cache])
  if (new Set(given).size !== given.length) throw new Error("StateCache: one entry passed for two rows")
  // row b reads its first `reused[b]` positions from its cache and runs the rest (at least its last token, whose
  // hidden state gives the first logits)
  const reused = rows.map((r) => r.cache === undefined ? 0 : Math.min(shared(r.cache.tokens, r.state), r.state.length - 1))
  const fresh = rows.map((r, b) => r.state.length - reused[b]!)
  const Tp = Math.max(1, ...rows.map((r) => r.state.length))
  // the decoder's prefixes are the rows in pass order (its prompts stay in row order: the draws are per row)
  const passes = groups(fresh)
  const order = passes.flat()
  const placeOf = inverse(order)
  const prefixTokens = new Int32Array(B * Tp).fill(PAD)
  order.forEach((b, p) => prefixTokens.set(rows[b]!.state, p * Tp))
  const caches = rows.map((r) => r.cache ?? blank(c))
  const prompts = rows.map((r, b) => ({ prefix: placeOf[b]!, length: r.state.length }))
  const samples = ModelSample.decodeFrom(m, { tokens: prefixTokens, length: Tp, lengths: order.map((b) => rows[b]!.state.length) }, prompts, rng, options, () => {
    const temporaries: Array<tf.Tensor> = []
    const kept = new Set<tf.Tensor>()
    try {
      const done = passes.map((g) => {
        const x = extendRows(m, g.map((b) => rows[b]!.state), g.map((b) => reused[b]!), g.map((b) => caches[b]!), Tp)
        temporaries.push(x.logits, x.value, ...x.keys, ...x.values, ...(x.copy === undefined ? [] : [x.copy.query, x.copy.gate]))
        return x
      })
      const prefixKeys = m.weights.copy === undefined ? undefined : new Float32Array(B * Tp * K)
      if (prefixKeys !== undefined) order.forEach((b, p) => prefixKeys.set(caches[b]!.copyKeys!.subarray(0, rows[b]!.state.length * K), p * Tp * K))
      // per layer, the passes' keys and values one after another (the prefixes' order); logits and values in row order
      const index = tf.tensor1d(placeOf, "int32")
      temporaries.push(index)
      const joined = <T extends tf.Tensor>(ts: ReadonlyArray<T>): T => ts.length === 1 ? ts[0]! : tf.concat([...ts], 0)
      const keep = <T extends tf.Tensor>(t: T): T => {
        kept.add(t)
        return t
      }
      const picked = (ts: ReadonlyArray<tf.Tensor>): tf.Tensor => tf.tidy(() => tf.gather(joined(ts), index))
      const host = (ts: ReadonlyArray<tf.Tensor>): Float32Array => {
        const t = picked(ts)
        const d = t.dataSync() as Float32Array
        t.dispose()
        return d
      }
      const copies = done.flatMap((x) => x.copy === undefined ? [] : [x.copy])
      return {
        keys: Array.from({ length: c.layers }, (_, l) => keep(joined(done.map((x) => x.keys[l]!)))),
        values: Array.from({ length: c.layers }, (_, l) => keep(joined(done.map((x) => x.values[l]!)))),
        logits: picked(done.map((x) => x.logits)),
        value: picked(done.map((x) => x.value)),
        copy: prefixKeys === undefined || copies.length === 0
          ? undefined
          : { prefixKeys, query: host(copies.map((x) => x.query)), gate: host(copies.map((x) => x.gate)) }
      }
    } finally {
      for (const t of temporaries) if (!kept.has(t)) t.dispose()
    }
  })
  return { samples, caches: caches.map((e, b) => ({ ...e, tokens: rows[b]!.state.slice() })), computed: fresh.reduce((a, f) => a + f, 0) }
}

/** A new row's buffers, for a whole context. */
const blank = (c: Transformer.Config): Entry => ({
  tokens: new Int32Array(0),
  keys: Array.from({ length: c.layers }, () => new Float32Array(c.contextLength * c.dModel)),
  values: Array.from({ length: c.layers }, () => new Float32Array(c.contextLength * c.dModel)),
  copyKeys: c.copyHead === true ? new Float32Array(c.contextLength * Transformer.copyWidth(c)) : undefined
})

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

/**
 * One pass of `Transformer.extend` over some rows, each padded to the pass's longest new part (N) and to Tp positions:
 * their keys and values at every position (for the decoder), the logits and values at their last state tokens; the
 * new positions' keys and values are written into the rows' entries (`into`) after their cached ones.
 */
const extendRows = (m: Transformer.Model, states: ReadonlyArray<Int32Array>, reused: ReadonlyArray<number>, into: ReadonlyArray<Entry>, Tp: number) => {
  const c = m.config
  const C = c.dModel
  const K = Transformer.copyWidth(c)
  const B = states.length
  const copy = m.weights.copy
  const fresh = states.map((s, b) => s.length - reused[b]!)
  const N = Math.max(1, ...fresh)
  const cached = reused.some((L) => L > 0)
  // the new tokens (B, N) at their positions; where each of the B*Tp positions comes from in [past | new]; the mask
  const tokens = new Int32Array(B * N).fill(PAD)
  const positions = new Int32Array(B * N)
  const place = new Int32Array(B * Tp)
  const mask = new Float32Array(B * N * Tp).fill(-1e9)
  const pastKeys = Array.from({ length: cached ? c.layers : 0 }, () => new Float32Array(B * Tp * C))
  const pastValues = Array.from({ length: cached ? c.layers : 0 }, () => new Float32Array(B * Tp * C))
  const newAt = cached ? B * Tp : 0 // where the new positions start in [past | new]
  states.forEach((s, b) => {
    const L = reused[b]!
    const F = fresh[b]!
    tokens.set(s.subarray(L), b * N)
    for (let i = 0; i < F; i++) positions[b * N + i] = L + i
    for (let p = 0; p < Tp; p++) place[b * Tp + p] = p < L ? b * Tp + p : p < L + F ? newAt + b * N + p - L : newAt + b * N // padding: row b's first new position, never attended to
    for (let i = 0; i < N; i++) mask.fill(0, (b * N + i) * Tp, (b * N + i) * Tp + Math.min(L + i, Tp - 1) + 1) // causal over the row's positions
    for (let l = 0; l < pastKeys.length && L > 0; l++) {
      pastKeys[l]!.set(into[b]!.keys[l]!.subarray(0, L * C), b * Tp * C)
      pastValues[l]!.set(into[b]!.values[l]!.subarray(0, L * C), b * Tp * C)
    }
  })
  const ext = tf.tidy(() => {
    const past = cached ? { keys: pastKeys.map((k) => tf.tensor2d(k, [B * Tp, C])), values: pastValues.map((v) => tf.tensor2d(v, [B * Tp, C])) } : undefined
    const f = Transformer.extend(m, tf.tensor2d(tokens, [B, N], "int32"), tf.tensor1d(positions, "int32"), past, tf.tensor1d(place, "int32"), tf.tensor4d(mask, [B, 1, N, Tp]))
    const h = tf.gather(f.hidden, tf.tensor1d(states.map((_, b) => b * N + fresh[b]! - 1), "int32")) // (B, C) at each state's last token
    const at = copy === undefined ? undefined : Copy.project(copy, h)
    return {
      newKeys: [...f.newKeys],
      newValues: [...f.newValues],
      keys: [...f.keys],
      values: [...f.values],
      logits: Transformer.logits(m, h),
      value: Transformer.value(m, h),
      copy: copy === undefined || at === undefined ? undefined : { query: at.query, gate: at.gate, keys: Copy.project(copy, f.hidden).key }
    }
  })
  // the new positions into the rows' entries, after their cached ones
  const write = (t: tf.Tensor, target: (e: Entry) => Float32Array, w: number): void => {
    const d = t.dataSync() as Float32Array // (B*N, w)
    t.dispose()
    states.forEach((_, b) => target(into[b]!).set(d.subarray(b * N * w, (b * N + fresh[b]!) * w), reused[b]! * w))
  }
  ext.newKeys.forEach((t, l) => write(t, (e) => e.keys[l]!, C))
  ext.newValues.forEach((t, l) => write(t, (e) => e.values[l]!, C))
  if (ext.copy !== undefined) write(ext.copy.keys, (e) => e.copyKeys!, K)
  return {
    keys: ext.keys, // per layer (B, H, D, Tp)
    values: ext.values, // per layer (B, H, Tp, D)
    logits: ext.logits, // (B, V)
    value: ext.value, // (B,)
    copy: ext.copy === undefined ? undefined : { query: ext.copy.query, gate: ext.copy.gate } // (B, K), (B,)
  }
}
