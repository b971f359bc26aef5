import * as tf from "@tensorflow/tfjs"
import { PAD } from "../data/Tokenizer.ts"
import * as Copy from "./Copy.ts"

/**
 * A padded batch of token sequences and the action spans to score in them: the input of every batched
 * model operation. A sequence holds one (state, action) segment, or a whole trajectory window holding
 * many actions (one-pass scoring). Each action becomes one row of width A (the longest action), whose
 * entries name the flat position b*T + p whose output predicts the action's token at p + 1.
 * Pure typed arrays; `tensors` makes the int32 tensors (call inside tf.tidy).
 */
export interface Sequence {
  readonly parts: ReadonlyArray<Int32Array> // concatenated, the sequence (views are copied straight into the batch)
  readonly actions: ReadonlyArray<readonly [number, number]> // [start, end) of each action in the sequence, start >= 1
}

export interface ActionBatch {
  readonly tokens: Int32Array // (B*T) right-padded with PAD
  readonly batch: number // B sequences
  readonly length: number // T, the longest sequence
  readonly rows: number // R actions
  readonly width: number // A, the longest action
  readonly sequenceOf: Int32Array // (R,) the sequence holding each action
  readonly index: Int32Array // (R*A) flat position predicting each action token (a valid position on padding)
  readonly target: Int32Array // (R*A) the action token (PAD on padding)
  readonly mask: Float32Array // (R*A) 1 on action tokens, 0 on padding
  readonly last: Int32Array // (R,) flat position of each action's final token (the discriminator reads it)
  readonly actionLength: Int32Array // (R,)
}

const lengthOf = (s: Sequence): number => s.parts.reduce((n, p) => n + p.length, 0)

export const build = (sequences: ReadonlyArray<Sequence>): ActionBatch => {
  const B = sequences.length
  const T = Math.max(1, ...sequences.map(lengthOf))
  const tokens = new Int32Array(B * T) // PAD == 0
  if (PAD !== 0) tokens.fill(PAD)
  let R = 0
  let A = 1
  sequences.forEach((s, b) => {
    let o = b * T
    for (const p of s.parts) {
      tokens.set(p, o)
      o += p.length
    }
    for (const [start, end] of s.actions) {
      if (start < 1 || end < start || end > lengthOf(s)) throw new Error(`ActionBatch: bad action span [${start}, ${end})`)
      R++
      A = Math.max(A, end - start)
    }
  })
  const sequenceOf = new Int32Array(R)
  const index = new Int32Array(R * A)
  const target = new Int32Array(R * A)
  const mask = new Float32Array(R * A)
  const last = new Int32Array(R)
  const actionLength = new Int32Array(R)
  let r = 0
  sequences.forEach((s, b) => {
    for (const [start, end] of s.actions) {
      sequenceOf[r] = b
      actionLength[r] = end - start
      last[r] = b * T + Math.max(start, end - 1)
      for (let j = 0; j < A; j++) {
        const k = r * A + j
        if (start + j < end) {
          index[k] = b * T + start + j - 1
          target[k] = tokens[b * T + start + j]!
          mask[k] = 1
        } else {
          index[k] = b * T + start - 1
          target[k] = PAD
        }
      }
      r++
    }
  })
  return { tokens, batch: B, length: T, rows: R, width: A, sequenceOf, index, target, mask, last, actionLength }
}

/** A (state, action) segment as a sequence with one action. */
export const segment = (state: ReadonlyArray<Int32Array>, action: Int32Array): Sequence => {
  const s = state.reduce((n, p) => n + p.length, 0)
  return { parts: [...state, action], actions: [[s, s + action.length]] }
}

export interface Tensors {
  readonly tokens: tf.Tensor2D // (B, T) int32
  readonly index: tf.Tensor1D // (R*A,) int32
  readonly target: tf.Tensor2D // (R, A) int32
  readonly mask: tf.Tensor2D // (R, A) float32
  readonly last: tf.Tensor1D // (R,) int32
  readonly copy: Copy.Plan | undefined // the copy head's host-side plan (models with a copy head)
}

/** The batch's tensors; `withCopy` adds the copy head's plan (`Copy.plan`, host-side arrays). */
export const tensors = (b: ActionBatch, withCopy = false): Tensors => ({
  copy: withCopy ? Copy.plan(b) : undefined,
  tokens: tf.tensor2d(b.tokens, [b.batch, b.length], "int32"),
  index: tf.tensor1d(b.index, "int32"),
  target: tf.tensor2d(b.target, [b.rows, b.width], "int32"),
  mask: tf.tensor2d(b.mask, [b.rows, b.width], "float32"),
  last: tf.tensor1d(b.last, "int32")
})
