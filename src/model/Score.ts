import * as tf from "@tensorflow/tfjs"
import * as Tokenized from "../domain/Tokenized.ts"
import * as ActionBatch from "./ActionBatch.ts"
import * as Context from "./Context.ts"
import * as Packed from "./Packed.ts"
import * as Policy from "./Policy.ts"
import type * as Transformer from "./Transformer.ts"

/**
 * Batched scoring: log-probabilities of action tokens given their states (per token and summed per action)
 * and the value head, for a policy or for its frozen reference (any `Transformer.Model`).
 * Synchronous: tensors live only inside each call. Results are padded (R, A) typed arrays, row-major.
 */
export interface Scores {
  readonly rows: number // R actions
  readonly width: number // A, the longest action
  readonly logp: Float32Array // (R*A) per-token log-probs, 0 on padding
  readonly values: Float32Array // (R*A) value at the position predicting each token, 0 on padding
  readonly mask: Float32Array // (R*A)
  readonly sum: Float32Array // (R,) log pi(action | state)
  readonly stateValue: Float32Array // (R,) V(state): the value at the state's last token
}

export interface Options {
  readonly maxTokens?: number // padded tokens per forward pass (B*T)
  readonly maxLength?: number | undefined // `packed`: longest packed sequence (Packed.Options)
}

const defaultMaxTokens = 8192 // bounds one pass's activations (~100 MB for `small` at T = 512)

/** One forward pass over a prepared batch. */
export const score = (m: Transformer.Model, b: ActionBatch.ActionBatch): Scores => {
  const span = b.layout === undefined ? b.length : b.layout.positions.reduce((a, x) => Math.max(a, x), 0) + 1 // packed: positions, not length, meet the context
  if (span > m.config.contextLength) throw new Error(`Score: sequence of ${span} positions exceeds the context length ${m.config.contextLength}`)
  const out = tf.tidy(() => {
    const o = Policy.outputs(m, ActionBatch.tensors(b, m.config.copyHead === true))
    return [o.logp, tf.mul(o.values, o.mask)] as const
  })
  const logp = out[0].dataSync() as Float32Array
  const values = out[1].dataSync() as Float32Array
  out[0].dispose()
  out[1].dispose()
  const R = b.rows
  const A = b.width
  const sum = new Float32Array(R)
  const stateValue = new Float32Array(R)
  for (let r = 0; r < R; r++) {
    let s = 0
    for (let j = 0; j < A; j++) s += logp[r * A + j]!
    sum[r] = s
    stateValue[r] = values[r * A]!
  }
  return { rows: R, width: A, logp, values, mask: b.mask, sum, stateValue }
}

/**
 * Scores many sequences in passes of at most `maxTokens` padded tokens, sorting by length so that each
 * pass pads little. Rows come back in input order (sequence by sequence, action by action).
 */
export const sequences = (m: Transformer.Model, seqs: ReadonlyArray<ActionBatch.Sequence>, options: Options = {}): Scores => {
  const maxTokens = options.maxTokens ?? defaultMaxTokens
  const lengths = seqs.map((s) => Context.lengthOf(s.parts))
  const firstRow: Array<number> = []
  let R = 0
  let A = 1
  for (const s of seqs) {
    firstRow.push(R)
    R += s.actions.length
    for (const [a, e] of s.actions) A = Math.max(A, e - a)
  }
  const out = { rows: R, width: A, logp: new Float32Array(R * A), values: new Float32Array(R * A), mask: new Float32Array(R * A), sum: new Float32Array(R), stateValue: new Float32Array(R) }
  const order = seqs.map((_, i) => i).sort((x, y) => lengths[y]! - lengths[x]! || x - y)
  let i = 0
  while (i < order.length) {
    const T = lengths[order[i]!]!
    const n = Math.max(1, Math.floor(maxTokens / Math.max(1, T)))
    const chunk = order.slice(i, i + n)
    i += chunk.length
    const s = score(m, ActionBatch.build(chunk.map((k) => seqs[k]!)))
    let r = 0
    for (const k of chunk) {
      for (let a = 0; a < seqs[k]!.actions.length; a++, r++) {
        const dst = firstRow[k]! + a
        out.sum[dst] = s.sum[r]!
        out.stateValue[dst] = s.stateValue[r]!
        for (let j = 0; j < s.width; j++) {
          out.logp[dst * A + j] = s.logp[r * s.width + j]!
          out.values[dst * A + j] = s.values[r * s.width + j]!
          out.mask[dst * A + j] = s.mask[r * s.width + j]!
        }
      }
    }
  }
  return out
}

/**
 * Prefix-packed scoring (`Packed.pack`): the same rows as `segments` (one per request, in request order), each
 * trajectory window going through the model once with every request's action on it.
 */
export const packed = (m: Transformer.Model, requests: ReadonlyArray<Packed.Request>, options: Options = {}): Scores => {
  const p = Packed.pack(m.config.contextLength, requests, { maxLength: options.maxLength })
  const R = requests.length
  let A = 1
  for (const s of p.sequences) for (const [a, e] of s.actions) A = Math.max(A, e - a)
  const out = { rows: R, width: A, logp: new Float32Array(R * A), values: new Float32Array(R * A), mask: new Float32Array(R * A), sum: new Float32Array(R), stateValue: new Float32Array(R) }
  for (const pass of Packed.passes(p, options.maxTokens ?? defaultMaxTokens)) {
    const s = score(m, pass.batch)
    pass.requests.forEach((dst, r) => {
      out.sum[dst] = s.sum[r]!
      out.stateValue[dst] = s.stateValue[r]!
      out.logp.set(s.logp.subarray(r * s.width, (r + 1) * s.width), dst * A)
      out.values.set(s.values.subarray(r * s.width, (r + 1) * s.width), dst * A)
      out.mask.set(s.mask.subarray(r * s.width, (r + 1) * s.width), dst * A)
    })
  }
  return out
}

export interface Truncation {
  readonly truncatedTokens: number // summed over states: tokens dropped to fit the context
  readonly truncatedTurns: number // summed over states: whole earlier steps dropped
}

/** A (state, action) pair: the expert's action at step `step`, or another action (a sample) at that state. */
export type SegmentRequest = Packed.Request

export const expertAction = (t: Tokenized.TokenizedTrajectory, i: number): Int32Array =>
  t.tokens.subarray(Tokenized.actStart(t, i), Tokenized.actEnd(t, i))

/** The sequence of one segment, its state rendered within the context (an over-long action is cut). */
export const segmentSequence = (contextLength: number, req: SegmentRequest): { readonly sequence: ActionBatch.Sequence; readonly state: Context.State } => {
  const full = req.action ?? expertAction(req.trajectory, req.step)
  const state = Context.state(req.trajectory, req.step, contextLength)
  const action = full.subarray(0, contextLength - state.length) // an action longer than the reserve keeps what fits
  return { sequence: ActionBatch.segment(state.parts, action), state }
}

/** Per-segment scoring: one sequence (state + action) per request; rows in request order. */
export const segments = (m: Transformer.Model, requests: ReadonlyArray<SegmentRequest>, options: Options = {}): Scores & Truncation => {
  const built = requests.map((r) => segmentSequence(m.config.contextLength, r))
  return {
    ...sequences(m, built.map((b) => b.sequence), options),
    truncatedTokens: built.reduce((n, b) => n + b.state.truncatedTokens, 0),
    truncatedTurns: built.reduce((n, b) => n + b.state.truncatedTurns, 0)
  }
}

/**
 * One pass per trajectory: the log-probs of every expert action and the value at every expert state from
 * a single causal forward pass over the whole trajectory (one per window when it exceeds the context).
 * Rows: trajectory by trajectory, step by step, so `firstRow[k] + i` is step i of trajectory k.
 */
export const trajectories = (
  m: Transformer.Model,
  trajs: ReadonlyArray<Tokenized.TokenizedTrajectory>,
  options: Options = {}
): Scores & Truncation & { readonly firstRow: Int32Array } => {
  const wins = trajs.flatMap((t) => Context.windows(t, m.config.contextLength))
  const firstRow = new Int32Array(trajs.length)
  let r = 0
  trajs.forEach((t, k) => {
    firstRow[k] = r
    r += Tokenized.stepCount(t)
  })
  return {
    ...sequences(m, wins.map((w) => ({ parts: w.parts, actions: w.actions })), options),
    truncatedTokens: wins.reduce((n, w) => n + w.truncatedTokens, 0),
    truncatedTurns: wins.reduce((n, w) => n + w.truncatedTurns, 0),
    firstRow
  }
}
