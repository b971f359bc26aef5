import * as tf from "@tensorflow/tfjs"
import type * as ActionBatch from "./ActionBatch.ts"
import * as Transformer from "./Transformer.ts"

/**
 * The copy (pointer) head, after pointer-generator networks (See et al. 2017): the next token is drawn from a
 * mixture of the LM head and a copy of a token already in the sequence,
 *
 *   p(v | x_0..x_p) = (1 - g_p) softmax(W h_p)[v]  +  g_p Σ_{j<p} a_pj [x_{j+1} = v]
 *   a_pj = softmax_j( (Wq h_p) · (Wk h_j) / √K )  over j < p,     g_p = σ(w_g · h_p + b_g)   (g_p = 0 when p = 0)
 *
 * with h the final hidden states. Attending to position j copies the token that followed it, so "find the
 * previous occurrence of the current token and copy what came next" (an induction step) is one bilinear match,
 * and a copied token's probability does not depend on how well its embedding was trained. Why: a model trained
 * from scratch on a few thousand trajectories does not learn to write names it never saw (every qa test question,
 * every shop product id) through its LM head; measured in docs/paper-table.md.
 * Training and scoring need only the target's probability (`targetLogp`, no (N, V) copy distribution);
 * sampling mixes whole distributions on the host (`mix`).
 */

/**
 * Host-side layout of a batch's predicted entries, grouped by sequence: entry n -> slot b*M + k. The entries are
 * the batch's action tokens (`ActionBatch.entries`: padding is never computed).
 */
export interface Plan {
  readonly M: number // the most entries of one sequence
  readonly slotEntry: Int32Array // (B*M) the entry in each slot (0 for an empty slot: computed, never read)
  readonly entrySlot: Int32Array // (N) the slot of each entry
  readonly allowed: Float32Array // (B*M*T) 0 where position j may be copied from (j < p; in a packed batch, p's strict ancestors), -1e9 elsewhere
  readonly hit: Float32Array // (B*M*T) 1 where the token after j (on p's path) is the entry's target
  readonly has: Float32Array // (N) 1 when the entry has something to copy (p > 0)
  readonly match: Int32Array // (B*M*T) the suffix-match length of each candidate, 0..matchCap (the `copy.match` bias it gets)
}

/** The plan of entries `entries` (flat R*A indices of the batch's slots, in order). */
export const plan = (b: ActionBatch.ActionBatch, entries: Int32Array): Plan => {
  const B = b.batch
  const T = b.length
  const N = entries.length
  const A = b.width
  const count = new Int32Array(B)
  for (let n = 0; n < N; n++) count[b.sequenceOf[Math.floor(entries[n]! / A)]!]!++
  const M = Math.max(1, ...count)
  const slotEntry = new Int32Array(B * M)
  const entrySlot = new Int32Array(N)
  const allowed = new Float32Array(B * M * T).fill(-1e9)
  const hit = new Float32Array(B * M * T)
  const has = new Float32Array(N)
  const match = new Int32Array(B * M * T)
  const next = new Int32Array(B)
  for (let s = 0; s < B * M; s++) allowed[s * T] = 0 // empty slots stay finite
  const path = new Int32Array(T)
  for (let n = 0; n < N; n++) {
    const e = entries[n]!
    const seq = b.sequenceOf[Math.floor(e / A)]!
    const slot = seq * M + next[seq]!++
    slotEntry[slot] = n
    entrySlot[n] = slot
    // p's path back to the sequence's first token: p, p - 1, ..., 0 (causal) or through the tree's parents (packed)
    let len = 0
    for (let q = b.index[e]! - seq * T; q >= 0; q = b.layout === undefined ? q - 1 : b.layout.parent[seq * T + q]!) path[len++] = q
    if (len <= 1) continue
    has[n] = 1
    const target = b.target[e]!
    const row = slot * T
    const tok = (q: number) => b.tokens[seq * T + q]!
    // candidate j = path[d] (a strict ancestor) copies the next token on the path, path[d - 1]; its match is how many
    // tokens ending at j equal those ending at p (up to matchCap)
    for (let d = 1; d < len; d++) {
      const j = path[d]!
      allowed[row + j] = 0
      if (tok(path[d - 1]!) === target) hit[row + j] = 1
      let k = 0
      while (k < Transformer.matchCap && d + k < len && tok(path[d + k]!) === tok(path[k]!)) k++
      match[row + j] = k
    }
  }
  return { M, slotEntry, entrySlot, allowed, hit, has, match }
}

/**
 * log p(target) of every entry under the mixture, given the LM head's log-probabilities of the targets.
 * hidden: (B*T, C) final hidden states; h: (N, C) those at the entries' positions; vocabLogp: (N,). Call inside tf.tidy.
 */
export const targetLogp = (
  w: Transformer.CopyWeights,
  hidden: tf.Tensor2D,
  h: tf.Tensor2D,
  vocabLogp: tf.Tensor1D,
  p: Plan,
  B: number,
  T: number
): tf.Tensor1D => {
  const K = w.query.shape[1]!
  const q = tf.reshape(tf.matMul(tf.gather(h, tf.tensor1d(p.slotEntry, "int32")), w.query as tf.Tensor2D), [B, p.M, K]) // (B, M, K)
  const k = tf.reshape(tf.matMul(hidden, w.key as tf.Tensor2D), [B, T, K]) // (B, T, K)
  const bilinear = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(K)), tf.tensor3d(p.allowed, [B, p.M, T])) // (B, M, T)
  const scores = w.match === undefined ? bilinear : tf.add(bilinear, tf.reshape(tf.gather(w.match, tf.tensor1d(p.match, "int32")), [B, p.M, T])) // + b[match]
  const mass = tf.sum(tf.mul(tf.softmax(scores), tf.tensor3d(p.hit, [B, p.M, T])), -1) // (B, M): copy probability of each target
  const copyMass = tf.gather(tf.reshape(mass, [-1]), tf.tensor1d(p.entrySlot, "int32")) // (N,)
  const z = tf.reshape(tf.add(tf.matMul(h, w.gate as tf.Tensor2D), w.gateBias), [-1]) // (N,) gate logit
  const a1 = tf.add(logSigmoid(tf.neg(z)), vocabLogp) // log (1 - g) p_vocab
  const a2 = tf.add(logSigmoid(z), tf.log(tf.add(copyMass, 1e-30))) // log g p_copy
  const top = tf.maximum(a1, a2)
  const mixed = tf.add(top, tf.log(tf.add(tf.exp(tf.sub(a1, top)), tf.exp(tf.sub(a2, top))))) // (N,)
  const has = tf.tensor1d(p.has)
  return tf.add(tf.mul(has, mixed), tf.mul(tf.sub(1, has), vocabLogp)) as tf.Tensor1D
}

/** log σ(x) = min(x, 0) - log(1 + e^-|x|), stable; tfjs 4.22's tf.logSigmoid gradient reads a disposed tensor. */
const logSigmoid = (x: tf.Tensor): tf.Tensor => tf.sub(tf.minimum(x, 0), tf.log1p(tf.exp(tf.neg(tf.abs(x)))))

/** The head's query, key and gate at hidden states (N, C) -> (N, K), (N, K), (N,). Call inside tf.tidy. */
export const project = (w: Transformer.CopyWeights, hidden: tf.Tensor2D) => ({
  query: tf.matMul(hidden, w.query as tf.Tensor2D),
  key: tf.matMul(hidden, w.key as tf.Tensor2D),
  gate: tf.reshape(tf.add(tf.matMul(hidden, w.gate as tf.Tensor2D), w.gateBias), [-1])
})

/**
 * The mixture's log-probabilities for one sampling row, in place of its LM logits (host side, float64 sums).
 * logits[offset .. offset+V) are the LM head's logits and are overwritten with log p(v). The row's query sits at
 * position n of a causal sequence whose tokens are `tokenAt(0..n)`; the candidates are positions j < n with keys
 * `keyAt(j)` (K floats at `keys[at ..]`), each copying `tokenAt(j + 1)`, scored with `match[m]` added for a suffix
 * match of m tokens (`match` undefined: no bias), as `targetLogp` scores them.
 */
export const mix = (
  logits: Float32Array,
  offset: number,
  V: number,
  query: ArrayLike<number>,
  queryOffset: number,
  gateLogit: number,
  n: number,
  keyAt: (j: number) => readonly [ArrayLike<number>, number],
  tokenAt: (j: number) => number,
  K: number,
  match: ArrayLike<number> | undefined
): void => {
  let max = -Infinity
  for (let v = 0; v < V; v++) max = Math.max(max, logits[offset + v]!)
  let total = 0
  for (let v = 0; v < V; v++) total += Math.exp(logits[offset + v]! - max)
  const logZ = max + Math.log(total)
  if (n <= 0) {
    for (let v = 0; v < V; v++) logits[offset + v] = logits[offset + v]! - logZ
    return
  }
  const scale = 1 / Math.sqrt(K)
  const scores = new Float64Array(n)
  let top = -Infinity
  for (let j = 0; j < n; j++) {
    const [keys, at] = keyAt(j)
    let s = 0
    for (let d = 0; d < K; d++) s += query[queryOffset + d]! * keys[at + d]!
    scores[j] = s * scale
    if (match !== undefined) {
      let k = 0
      while (k < Transformer.matchCap && j - k >= 0 && tokenAt(j - k) === tokenAt(n - k)) k++
      scores[j] = scores[j]! + match[k]!
    }
    top = Math.max(top, scores[j]!)
  }
  let z = 0
  for (let j = 0; j < n; j++) z += scores[j] = Math.exp(scores[j]! - top)
  const g = 1 / (1 + Math.exp(-gateLogit))
  const copy = new Float64Array(V)
  for (let j = 0; j < n; j++) {
    const c = tokenAt(j + 1)
    copy[c] = copy[c]! + scores[j]! / z
  }
  for (let v = 0; v < V; v++) {
    const p = (1 - g) * Math.exp(logits[offset + v]! - logZ) + g * copy[v]!
    logits[offset + v] = Math.log(p)
  }
}
