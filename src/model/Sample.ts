import * as tf from "@tensorflow/tfjs"
import * as Tokenized from "../domain/Tokenized.ts"
import { EOA, PAD } from "../data/Tokenizer.ts"
import * as Context from "./Context.ts"
import * as Copy from "./Copy.ts"
import * as Rng from "./Rng.ts"
import * as Transformer from "./Transformer.ts"

/**
 * Batched, seeded sampling of actions: each row continues a prompt token by token until the stop token
 * (EOA) or `maxTokens`, with temperature, top-k and top-p. Keys and values are cached: the prompts are
 * run once (prefill), then each new token costs one position. Rows may share a prefix: several states
 * of one trajectory are cuts of one sequence, so its prefill runs once and each row masks the positions
 * beyond its own state. Finished rows are dropped from the batch as they accumulate.
 * Randomness: one uniform draw per live row per token, rows in increasing order, from the `rng` passed in
 * (advanced in place); temperature 0 is greedy and draws nothing. `rng` may also be one generator per row
 * (`Rngs`): rows that share a generator draw from it in that same order, so a request's rows get the same
 * draws whatever other rows share the batch (the policy server batches concurrent requests this way).
 */
export interface Options {
  readonly maxTokens?: number // longest action, stop token included
  readonly temperature?: number // 0 = greedy
  readonly topK?: number // 0 = no top-k filter
  readonly topP?: number // 1 = no nucleus filter
  readonly stop?: number // the token that ends an action (-1: none, rows run to maxTokens)
}

const defaults = {
  maxTokens: 64, // the built-in environments' actions are short commands; longer samples are cut
  temperature: 1, // sample from the policy itself (PPO's ratios assume it)
  topK: 0, // no filtering: filtered samples are off-policy for PPO
  topP: 1, // idem
  stop: EOA // actions end with <|eoa|>
} as const

type Resolved = { readonly [K in keyof Options]-?: NonNullable<Options[K]> }
const resolve = (o: Options): Resolved => ({
  maxTokens: o.maxTokens ?? defaults.maxTokens,
  temperature: o.temperature ?? defaults.temperature,
  topK: o.topK ?? defaults.topK,
  topP: o.topP ?? defaults.topP,
  stop: o.stop ?? defaults.stop
})

/** One generator for every row, or one per row (rows may share one: they draw from it in row order). */
export type Rngs = Rng.Rng | ReadonlyArray<Rng.Rng>

const rowRng = (rng: Rngs, r: number): Rng.Rng => "generator" in rng ? rng : rng[r]!

/** Row r continues `prefixes[prefix]` cut after its first `length` tokens. */
export interface Prompt {
  readonly prefix: number
  readonly length: number
}

export interface Samples {
  readonly rows: number // R
  readonly width: number // W = maxTokens
  readonly tokens: Int32Array // (R*W) sampled tokens, PAD after the end
  readonly lengths: Int32Array // (R,) tokens sampled, the stop token included
  readonly stopped: Uint8Array // (R,) 1 when the row ended with the stop token (0: cut by maxTokens or the context)
  readonly logp: Float32Array // (R*W) log pi(token) under the unfiltered policy at temperature 1, 0 after the end
  // (R*W) the value head at the position predicting each token (the state's last token for the first), 0 after the end:
  // with `logp`, what PPO's old policy would score for the sampled action (`Score.packed`), taken here for free
  readonly values: Float32Array
}

/** Row r of a sampling, cut to its length: the sampled tokens with their log-probs and values (copies). */
export const row = (s: Samples, r: number): { readonly tokens: Int32Array; readonly logp: Float32Array; readonly values: Float32Array } => {
  const [from, to] = [r * s.width, r * s.width + s.lengths[r]!]
  return { tokens: s.tokens.slice(from, to), logp: s.logp.slice(from, to), values: s.values.slice(from, to) }
}

/**
 * Picks a token from one row of logits given a uniform draw `u` in [0, 1).
 * Candidates: all tokens in index order, or (with top-k/top-p) the best ones by logit (ties by index).
 */
export const choose = (logits: Float32Array, offset: number, V: number, o: Resolved, u: number): number => {
  if (o.temperature === 0) {
    let best = 0
    for (let v = 1; v < V; v++) if (logits[offset + v]! > logits[offset + best]!) best = v
    return best
  }
  let max = -Infinity
  for (let v = 0; v < V; v++) max = Math.max(max, logits[offset + v]!)
  const inv = 1 / o.temperature
  if ((o.topK <= 0 || o.topK >= V) && o.topP >= 1) {
    let total = 0
    for (let v = 0; v < V; v++) total += Math.exp((logits[offset + v]! - max) * inv)
    let target = u * total
    for (let v = 0; v < V; v++) {
      target -= Math.exp((logits[offset + v]! - max) * inv)
      if (target < 0) return v
    }
    return V - 1
  }
  const ids = Array.from({ length: V }, (_, v) => v).sort((a, b) => logits[offset + b]! - logits[offset + a]! || a - b)
  const k = o.topK > 0 ? Math.min(o.topK, V) : V
  const p = ids.slice(0, k).map((v) => Math.exp((logits[offset + v]! - max) * inv))
  const total = p.reduce((s, x) => s + x, 0)
  let n = p.length
  if (o.topP < 1) {
    let cum = 0
    for (let i = 0; i < p.length; i++) {
      cum += p[i]! / total
      if (cum >= o.topP) {
        n = i + 1
        break
      }
    }
  }
  const kept = p.slice(0, n).reduce((s, x) => s + x, 0)
  let target = u * kept
  for (let i = 0; i < n; i++) {
    target -= p[i]!
    if (target < 0) return ids[i]!
  }
  return ids[n - 1]!
}

const logSoftmaxAt = (logits: Float32Array, offset: number, V: number, token: number): number => {
  let max = -Infinity
  for (let v = 0; v < V; v++) max = Math.max(max, logits[offset + v]!)
  let total = 0
  for (let v = 0; v < V; v++) total += Math.exp(logits[offset + v]! - max)
  return logits[offset + token]! - max - Math.log(total)
}

/** Bookkeeping shared by the cached and the uncached samplers: draws, stops and outputs per original row. */
const makeState = (m: Transformer.Model, prefixLengths: ReadonlyArray<number>, prompts: ReadonlyArray<Prompt>, o: Resolved) => {
  const R = prompts.length
  const W = o.maxTokens
  prompts.forEach((p) => {
    const n = prefixLengths[p.prefix] ?? 0
    if (p.length < 1 || p.length > n) throw new Error(`Sample: prompt length ${p.length} outside prefix ${p.prefix} of ${n} tokens`)
    if (p.length >= m.config.contextLength) throw new Error(`Sample: prompt of ${p.length} tokens leaves no room in the context (${m.config.contextLength})`)
  })
  const out: Samples = {
    rows: R,
    width: W,
    tokens: new Int32Array(R * W).fill(PAD),
    lengths: new Int32Array(R),
    stopped: new Uint8Array(R),
    logp: new Float32Array(R * W),
    values: new Float32Array(R * W)
  }
  // the most tokens row r may sample: its action must end inside the context
  const limit = prompts.map((p) => Math.min(W, m.config.contextLength - p.length))
  /**
   * Draws for the rows in `live` (original indices, increasing) at step t from logits (live.length, V), the values of
   * their positions beside (live.length,); returns the rows still live.
   */
  const advance = (live: ReadonlyArray<number>, logits: Float32Array, values: Float32Array, V: number, t: number, rng: Rngs): Array<number> => {
    const next: Array<number> = []
    live.forEach((r, i) => {
      out.values[r * W + t] = values[i]!
      const u = o.temperature === 0 ? 0 : Rng.uniform(rowRng(rng, r))
      const tok = choose(logits, i * V, V, o, u)
      out.tokens[r * W + t] = tok
      out.logp[r * W + t] = logSoftmaxAt(logits, i * V, V, tok)
      out.lengths[r] = t + 1
      if (tok === o.stop) out.stopped[r] = 1
      else if (t + 1 < limit[r]!) next.push(r)
    })
    return next
  }
  return { out, advance }
}

const checkRngs = (rng: Rngs, rows: number): void => {
  if (!("generator" in rng) && rng.length !== rows) throw new Error(`Sample: ${rng.length} generators for ${rows} rows`)
}

/** Concatenated prefix tokens right-padded to (P, Tp). */
const padPrefixes = (prefixes: ReadonlyArray<ReadonlyArray<Int32Array>>): { readonly tokens: Int32Array; readonly length: number } => {
  const Tp = Math.max(1, ...prefixes.map((parts) => Context.lengthOf(parts)))
  const tokens = new Int32Array(prefixes.length * Tp).fill(PAD)
  prefixes.forEach((parts, p) => {
    let o = p * Tp
    for (const part of parts) {
      tokens.set(part, o)
      o += part.length
    }
  })
  return { tokens, length: Tp }
}

/**
 * Which batch slot each live row occupies in decoding. Rows of one prefix are grouped: groups of G slots
 * read one prefix (`Transformer.PrefixCache`), G = the mean number of rows per prefix, so a prefix with more
 * rows spans several groups and the padding (dummy slots) stays below one slot per row.
 */
interface Layout {
  readonly groupPrefix: Int32Array // (Pv,) the prefix each group reads
  readonly width: number // G slots per group
  readonly slotRow: Int32Array // (Pv*G,) the original row in each slot, -1 for a dummy slot
  readonly slotOf: Map<number, number> // original row -> slot
}

const layout = (rows: ReadonlyArray<number>, prompts: ReadonlyArray<Prompt>): Layout => {
  const byPrefix = new Map<number, Array<number>>()
  for (const r of rows) {
    const p = prompts[r]!.prefix
    const list = byPrefix.get(p)
    if (list === undefined) byPrefix.set(p, [r])
    else list.push(r)
  }
  const G = Math.max(1, Math.round(rows.length / byPrefix.size))
  const groups: Array<readonly [number, ReadonlyArray<number>]> = []
  for (const [p, rs] of [...byPrefix].sort((a, b) => a[0] - b[0])) {
    for (let i = 0; i < rs.length; i += G) groups.push([p, rs.slice(i, i + G)])
  }
  const slotRow = new Int32Array(groups.length * G).fill(-1)
  const slotOf = new Map<number, number>()
  groups.forEach(([, rs], i) => rs.forEach((r, g) => {
    slotRow[i * G + g] = r
    slotOf.set(r, i * G + g)
  }))
  return { groupPrefix: Int32Array.from(groups, ([p]) => p), width: G, slotRow, slotOf }
}

/** Cached sampling (the fast path). */
export const sample = (
  m: Transformer.Model,
  prefixes: ReadonlyArray<ReadonlyArray<Int32Array>>,
  prompts: ReadonlyArray<Prompt>,
  rng: Rngs,
  options: Options = {}
): Samples => {
  const { length: Tp, tokens: prefixTokens } = padPrefixes(prefixes)
  // 1. prefill: one forward pass over the distinct prefixes; logits at each row's last state token
  return decodeFrom(m, { tokens: prefixTokens, length: Tp, lengths: prefixes.map(Context.lengthOf) }, prompts, rng, options, () => {
    const copy = m.weights.copy
    const base = tf.tidy(() => {
      const f = Transformer.forward(m, tf.tensor2d(prefixTokens, [prefixes.length, Tp], "int32"))
      const lastPos = tf.tensor1d(prompts.map((p) => p.prefix * Tp + p.length - 1), "int32")
      const h = tf.gather(f.hidden, lastPos)
      const at = copy === undefined ? undefined : Copy.project(copy, h)
      return {
        keys: [...f.keys],
        values: [...f.values],
        logits: Transformer.logits(m, h),
        value: Transformer.value(m, h),
        copy: copy === undefined || at === undefined ? undefined : { query: at.query, gate: at.gate, keys: Copy.project(copy, f.hidden).key }
      }
    })
    const c = base.copy
    const host = c === undefined ? undefined : { prefixKeys: c.keys.dataSync() as Float32Array, query: c.query.dataSync() as Float32Array, gate: c.gate.dataSync() as Float32Array }
    if (c !== undefined) for (const x of [c.keys, c.query, c.gate]) x.dispose()
    return { keys: base.keys, values: base.values, logits: base.logits, value: base.value, copy: host }
  })
}

/**
 * What a prefill leaves for decoding (`sample`'s own, or `StateCache.sample`'s continuing one): the keys and values
 * of every prefix position, the logits and value at each row's last state token, the copy head's host arrays.
 */
export interface Prefilled {
  readonly keys: ReadonlyArray<tf.Tensor4D> // per layer (P, H, D, Tp), prefixes right-padded to Tp
  readonly values: ReadonlyArray<tf.Tensor4D> // per layer (P, H, Tp, D)
  readonly logits: tf.Tensor // (R, V) at each row's last state token
  readonly value: tf.Tensor // (R,) the value head there
  // host: the copy head's keys at every prefix position (P*Tp, K), each row's query (R*K) and gate logit (R,)
  readonly copy: { readonly prefixKeys: Float32Array; readonly query: Float32Array; readonly gate: Float32Array } | undefined
}

/** The prefixes' tokens right-padded to (P, Tp), and each prefix's own length. */
export interface Prefixes {
  readonly tokens: Int32Array // (P*Tp)
  readonly length: number // Tp
  readonly lengths: ReadonlyArray<number> // (P,)
}

/**
 * Decoding, one position per live row per step, from a prefill of `prefixes` that `prefill` computes (called inside:
 * every tensor it returns is disposed by the end, whatever happens).
 */
export const decodeFrom = (
  m: Transformer.Model,
  prefixes: Prefixes,
  prompts: ReadonlyArray<Prompt>,
  rng: Rngs,
  options: Options,
  prefill: () => Prefilled
): Samples => {
  const o = resolve(options)
  checkRngs(rng, prompts.length)
  const { advance, out } = makeState(m, prefixes.lengths, prompts, o)
  if (prompts.length === 0) return out
  const V = m.config.vocabSize
  const { length: Tp, tokens: prefixTokens } = prefixes
  const P = prefixes.lengths.length
  const prefixFlat = prefixes.lengths.map((_, p) => prefixTokens.subarray(p * Tp, (p + 1) * Tp))
  const live0 = prompts.map((_, r) => r)
  const held = new Set<tf.Tensor>()
  const hold = <T extends tf.Tensor>(t: T): T => {
    held.add(t)
    return t
  }
  const release = (ts: ReadonlyArray<tf.Tensor>, keep: ReadonlySet<tf.Tensor> = new Set()): void => {
    for (const t of ts) {
      if (keep.has(t)) continue
      held.delete(t)
      t.dispose()
    }
  }
  try {
    const copy = m.weights.copy
    const K = Transformer.copyWidth(m.config)
    const base = prefill()
    hold(base.logits)
    hold(base.value)
    const baseSet = new Set<tf.Tensor>([...base.keys, ...base.values].map(hold))
    // the copy head on the host: the prefixes' keys (P*Tp, K), and per row the query and gate of its current position
    // and the keys of the positions it generated (all but the newest are candidates)
    const copyHost = base.copy === undefined ? undefined : { ...base.copy, match: copy?.match?.dataSync() as Float32Array | undefined }
    const rowQuery = prompts.map((_, r) => copyHost?.query.subarray(r * K, (r + 1) * K) ?? new Float32Array(0))
    const rowGate = prompts.map((_, r) => copyHost?.gate[r] ?? 0)
    const rowKeys: Array<Array<Float32Array>> = prompts.map(() => [])
    const mixRows = (rows: ReadonlyArray<number>, data: Float32Array, t: number): void => {
      if (copyHost === undefined) return
      rows.forEach((r, i) => {
        const pr = prompts[r]!
        const L = pr.length
        const flat = prefixFlat[pr.prefix]!
        // choosing the token at position L + t from the query at L - 1 + t: candidates j < L - 1 + t copy x_{j+1}
        Copy.mix(data, i * V, V, rowQuery[r]!, 0, rowGate[r]!, L - 1 + t, (j) => j < L ? [copyHost.prefixKeys, (pr.prefix * Tp + j) * K] : [rowKeys[r]![j - L]!, 0], (j) => j < L ? flat[j]! : out.tokens[r * o.maxTokens + j - L]!, K, copyHost.match)
      })
    }
    /** The prefix caches and mask of a layout (the base caches themselves when the groups are the prefixes in order). */
    const prefixFor = (lay: Layout): Transformer.PrefixCache => {
      const G = lay.width
      const Pv = lay.groupPrefix.length
      const maskData = new Float32Array(Pv * G * Tp).fill(-1e9)
      lay.slotRow.forEach((r, s) => maskData.fill(0, s * Tp, s * Tp + (r < 0 ? 1 : prompts[r]!.length)))
      const mask = hold(tf.tensor4d(maskData, [Pv, 1, G, Tp]))
      const identity = Pv === P && lay.groupPrefix.every((p, i) => p === i)
      if (identity) return { keys: base.keys, values: base.values, mask }
      const picked = tf.tidy(() => {
        const idx = tf.tensor1d(lay.groupPrefix, "int32")
        return { keys: base.keys.map((k) => tf.gather(k, idx)), values: base.values.map((v) => tf.gather(v, idx)) }
      })
      return { keys: picked.keys.map(hold), values: picked.values.map(hold), mask }
    }
    let lay = layout(live0, prompts)
    let layRows = live0.length
    let prefix = prefixFor(lay)
    let recent: Transformer.RecentCache | undefined = undefined
    let logits: tf.Tensor = base.logits
    let values: tf.Tensor = base.value
    let logitRow = (r: number): number => r // the row of `logits` holding original row r
    // 2. decode: one position per slot per step
    let live: Array<number> = live0
    for (let t = 0; t < o.maxTokens; t++) {
      const data = logits.dataSync() as Float32Array
      const valueData = values.dataSync() as Float32Array
      const liveData = new Float32Array(live.length * V)
      live.forEach((r, i) => liveData.set(data.subarray(logitRow(r) * V, (logitRow(r) + 1) * V), i * V))
      mixRows(live, liveData, t)
      live = advance(live, liveData, Float32Array.from(live, (r) => valueData[logitRow(r)]!), V, t, rng)
      if (live.length === 0) break
      if (live.length * 2 <= layRows) {
        // drop finished rows: a new layout over the live ones, recent caches moved to their new slots
        const next = layout(live, prompts)
        const from = Int32Array.from(next.slotRow, (r) => r < 0 ? 0 : lay.slotOf.get(r)!)
        const moved = recent === undefined ? undefined : tf.tidy(() => {
          const idx = tf.tensor1d(from, "int32")
          return { keys: recent!.keys.map((k) => tf.gather(k, idx)), values: recent!.values.map((v) => tf.gather(v, idx)) }
        })
        release([...prefix.keys, ...prefix.values, prefix.mask, ...(recent === undefined ? [] : [...recent.keys, ...recent.values])], baseSet)
        recent = moved === undefined ? undefined : { keys: moved.keys.map(hold), values: moved.values.map(hold) }
        lay = next
        layRows = live.length
        prefix = prefixFor(lay)
      }
      const liveSet = new Set(live)
      const S = lay.slotRow.length
      const feed = new Int32Array(S).fill(PAD)
      const pos = new Int32Array(S)
      lay.slotRow.forEach((r, s) => {
        if (r >= 0 && liveSet.has(r)) {
          feed[s] = out.tokens[r * o.maxTokens + t]!
          pos[s] = prompts[r]!.length + t
        } // finished rows and dummy slots ride along with PAD at position 0
      })
      const prev = recent
      const p = prefix
      const step = tf.tidy(() => {
        const d = Transformer.decode(m, tf.tensor1d(feed, "int32"), tf.tensor1d(pos, "int32"), p, prev)
        const at = copy === undefined ? undefined : Copy.project(copy, d.hidden)
        return { keys: [...d.recent.keys], values: [...d.recent.values], logits: Transformer.logits(m, d.hidden), value: Transformer.value(m, d.hidden), copy: at }
      })
      if (step.copy !== undefined) {
        // the fed token's position: its key joins the candidates after this step's choice; its query and gate choose next
        const q = step.copy.query.dataSync() as Float32Array
        const k = step.copy.key.dataSync() as Float32Array
        const g = step.copy.gate.dataSync() as Float32Array
        lay.slotRow.forEach((r, sl) => {
          if (r < 0 || !liveSet.has(r)) return
          rowQuery[r] = q.slice(sl * K, (sl + 1) * K)
          rowGate[r] = g[sl]!
          rowKeys[r]!.push(k.slice(sl * K, (sl + 1) * K))
        })
        for (const x of [step.copy.query, step.copy.key, step.copy.gate]) x.dispose()
      }
      release([logits, values, ...(prev === undefined ? [] : [...prev.keys, ...prev.values])])
      recent = { keys: step.keys.map(hold), values: step.values.map(hold) }
      logits = hold(step.logits)
      values = hold(step.value)
      const slotOf = lay.slotOf
      logitRow = (r) => slotOf.get(r)!
    }
    return out
  } finally {
    for (const t of held) t.dispose()
  }
}

/**
 * The reference sampler: no cache, a full forward pass over every live row's prompt and tokens so far at
 * each step. Same draws as `sample`, so with the same seed it yields the same tokens (tests, benchmarks).
 */
export const sampleUncached = (
  m: Transformer.Model,
  prefixes: ReadonlyArray<ReadonlyArray<Int32Array>>,
  prompts: ReadonlyArray<Prompt>,
  rng: Rngs,
  options: Options = {}
): Samples => {
  const o = resolve(options)
  checkRngs(rng, prompts.length)
  const { advance, out } = makeState(m, prefixes.map(Context.lengthOf), prompts, o)
  const V = m.config.vocabSize
  const flat = prefixes.map(Context.flatten)
  let live = prompts.map((_, r) => r)
  for (let t = 0; t < o.maxTokens && live.length > 0; t++) {
    const T = Math.max(...live.map((r) => prompts[r]!.length + t))
    const tokens = new Int32Array(live.length * T).fill(PAD)
    const lastPos = new Int32Array(live.length)
    live.forEach((r, i) => {
      const p = prompts[r]!
      tokens.set(flat[p.prefix]!.subarray(0, p.length), i * T)
      tokens.set(out.tokens.subarray(r * o.maxTokens, r * o.maxTokens + t), i * T + p.length)
      lastPos[i] = i * T + p.length + t - 1
    })
    const copy = m.weights.copy
    const outs = tf.tidy(() => {
      const f = Transformer.forward(m, tf.tensor2d(tokens, [live.length, T], "int32"))
      const h = tf.gather(f.hidden, tf.tensor1d(lastPos, "int32"))
      if (copy === undefined) return [Transformer.logits(m, h), Transformer.value(m, h)]
      const at = Copy.project(copy, h)
      return [Transformer.logits(m, h), Transformer.value(m, h), at.query, at.gate, Copy.project(copy, f.hidden).key]
    })
    const [data, value, query, gate, keys] = outs.map((x) => x.dataSync() as Float32Array)
    for (const x of outs) x.dispose()
    if (copy !== undefined) {
      const K = Transformer.copyWidth(m.config)
      const match = copy.match?.dataSync() as Float32Array | undefined
      live.forEach((_, i) => {
        const p = lastPos[i]! - i * T // the query's position: candidates j < p copy the token at j + 1
        Copy.mix(data!, i * V, V, query!, i * K, gate![i]!, p, (j) => [keys!, (i * T + j) * K], (j) => tokens[i * T + j]!, K, match)
      })
    }
    live = advance(live, data!, value!, V, t, rng)
  }
  return out
}

/** A state to sample at: step `step` of a trajectory (the expert's state s_i). */
export interface StateRequest {
  readonly trajectory: Tokenized.TokenizedTrajectory
  readonly step: number
}

/**
 * Samples `k` actions at each requested expert state (rows request-major: row r*k + j is the j-th sample
 * at request r). States are rendered by `Context.state` (the room for the action is the context's reserve, and
 * `maxTokens` is capped to it); states of one
 * trajectory that are cuts of one sequence share one prefill.
 */
export const states = (
  m: Transformer.Model,
  requests: ReadonlyArray<StateRequest>,
  k: number,
  rng: Rng.Rng,
  options: Options & { readonly maxRows?: number; readonly maxPrefillTokens?: number } = {}
): StateSamples => {
  // an action never runs past the room every state leaves for it (Context.actionReserve)
  const resolved = resolve(options)
  const o = { ...resolved, maxTokens: Math.min(resolved.maxTokens, Context.actionReserve(m.config.contextLength)) }
  const perCall = Math.max(1, Math.floor((options.maxRows ?? defaultMaxRows) / Math.max(1, k)))
  // calls of at most maxRows rows whose distinct prefixes, padded to the longest, hold at most maxPrefillTokens tokens
  // (requests in order, so a trajectory's steps mostly stay together): the prefill's attention over P prefixes of
  // Tp tokens is P x H x Tp x Tp floats per layer, and 64 distinct 448-token house states in one pass exhausted
  // the wasm heap
  const budget = options.maxPrefillTokens ?? defaultMaxPrefillTokens
  const calls: Array<ReadonlyArray<StateRequest>> = []
  let current: Array<StateRequest> = []
  let seen = new Set<string>()
  let longest = 0
  const ids = new Map<Tokenized.TokenizedTrajectory, number>()
  for (const req of requests) {
    if (!ids.has(req.trajectory)) ids.set(req.trajectory, ids.size)
    const p = prefixKey(req, m.config.contextLength)
    const key = `${ids.get(req.trajectory)}:${p.key}`
    const length = p.length
    const fresh = !seen.has(key)
    const tokens = (seen.size + (fresh ? 1 : 0)) * Math.max(longest, length)
    if (current.length > 0 && (current.length >= perCall || tokens > budget)) {
      calls.push(current)
      current = []
      seen = new Set()
      longest = 0
    }
    current.push(req)
    seen.add(key)
    longest = Math.max(longest, length)
  }
  if (current.length > 0) calls.push(current)
  if (calls.length <= 1) return statesAtOnce(m, requests, k, rng, o)
  return concat(calls.map((c) => statesAtOnce(m, c, k, rng, o)))
}

/** What `states` returns: the samples and what the context cut from the states. */
export type StateSamples = Samples & { readonly truncatedTokens: number; readonly truncatedTurns: number }

/** Samplings of consecutive requests (one width) as one, rows in order. Pure. */
export const concat = (parts: ReadonlyArray<StateSamples>): StateSamples => {
  if (parts.length === 1) return parts[0]!
  const R = parts.reduce((n, p) => n + p.rows, 0)
  const W = parts[0]?.width ?? 0
  const out = { rows: R, width: W, tokens: new Int32Array(R * W), lengths: new Int32Array(R), stopped: new Uint8Array(R), logp: new Float32Array(R * W), values: new Float32Array(R * W), truncatedTokens: 0, truncatedTurns: 0 }
  let r = 0
  for (const p of parts) {
    if (p.width !== W) throw new Error(`Sample.concat: widths ${p.width} and ${W}`)
    out.tokens.set(p.tokens, r * W)
    out.logp.set(p.logp, r * W)
    out.values.set(p.values, r * W)
    out.lengths.set(p.lengths, r)
    out.stopped.set(p.stopped, r)
    out.truncatedTokens += p.truncatedTokens
    out.truncatedTurns += p.truncatedTurns
    r += p.rows
  }
  return out
}

const defaultMaxRows = 256 // bounds the decode batch and its caches (~100 MB of recent keys/values for `small` at 64 tokens)
const defaultMaxPrefillTokens = 8192 // as scoring's maxTokens: one prefill's attention stays near 70 MB a layer for `small`

/** Which prefill a state shares (states of one trajectory that differ only in how far their last part runs), and its length. */
const prefixKey = (req: StateRequest, contextLength: number): { readonly key: string; readonly length: number; readonly state: Context.State } => {
  const s = Context.state(req.trajectory, req.step, contextLength)
  const end = Tokenized.obsEnd(req.trajectory, req.step)
  const lastStart = end - s.parts[s.parts.length - 1]!.length
  return { key: `${s.parts.slice(0, -1).map((p) => `${p.byteOffset}+${p.length}`).join(",")}:${lastStart}`, length: s.length, state: s }
}

const statesAtOnce = (
  m: Transformer.Model,
  requests: ReadonlyArray<StateRequest>,
  k: number,
  rng: Rng.Rng,
  o: Resolved
): Samples & { readonly truncatedTokens: number; readonly truncatedTurns: number } => {
  const ctx = m.config.contextLength
  const trajIndex = new Map<Tokenized.TokenizedTrajectory, number>()
  const groups = new Map<string, { parts: ReadonlyArray<Int32Array>; trajectory: Tokenized.TokenizedTrajectory; lastStart: number; end: number }>()
  const keyed: Array<readonly [string, number]> = []
  let truncatedTokens = 0
  let truncatedTurns = 0
  for (const req of requests) {
    const s = Context.state(req.trajectory, req.step, ctx)
    truncatedTokens += s.truncatedTokens
    truncatedTurns += s.truncatedTurns
    if (!trajIndex.has(req.trajectory)) trajIndex.set(req.trajectory, trajIndex.size)
    const end = Tokenized.obsEnd(req.trajectory, req.step)
    const last = s.parts[s.parts.length - 1]!
    const lastStart = end - last.length
    // states that differ only in how far their last part runs share a prefix (and its cache)
    const key = `${trajIndex.get(req.trajectory)}:${s.parts.slice(0, -1).map((p) => `${p.byteOffset}+${p.length}`).join(",")}:${lastStart}`
    const g = groups.get(key)
    if (g === undefined || g.end < end) groups.set(key, { parts: s.parts, trajectory: req.trajectory, lastStart, end })
    keyed.push([key, s.length])
  }
  const keys = [...groups.keys()]
  const prefixOf = new Map(keys.map((key, i) => [key, i] as const))
  const prefixes = keys.map((key) => {
    const g = groups.get(key)!
    return [...g.parts.slice(0, -1), g.trajectory.tokens.subarray(g.lastStart, g.end)]
  })
  const prompts = keyed.flatMap(([key, length]) => Array.from({ length: k }, () => ({ prefix: prefixOf.get(key)!, length })))
  return { ...sample(m, prefixes, prompts, rng, o), truncatedTokens, truncatedTurns }
}
