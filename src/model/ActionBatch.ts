import * as tf from "@tensorflow/tfjs"
import { PAD } from "../data/Tokenizer.ts"
import * as Context from "./Context.ts"
import * as Copy from "./Copy.ts"
import type * as Transformer from "./Transformer.ts"

/**
 * A padded batch of token sequences and the action spans to score in them: the input of every batched
 * model operation. A sequence holds one (state, action) segment, a whole trajectory window holding many
 * actions (one-pass scoring), or a packed tree: a trunk (the expert's window) followed by branches (agent
 * actions), each branch seeing only the trunk's first `attach` tokens and itself, at the positions that
 * continue that prefix (`Packed.ts` builds them). Each action becomes one row of width A (the longest
 * action), whose entries name the flat position whose output predicts the action's token: the token's
 * parent, b*T + p - 1 in a plain sequence, the state's last token for a branch's first token.
 * Pure typed arrays; `tensors` makes the int32 tensors (call inside tf.tidy).
 */
export interface Sequence {
  readonly parts: ReadonlyArray<Int32Array> // concatenated, the sequence (views are copied straight into the batch)
  readonly actions: ReadonlyArray<readonly [number, number]> // [start, end) of each action in the sequence, start >= 1
  readonly branches?: ReadonlyArray<Branch> | undefined // packed: the sequence's tail is branches off its trunk (the tokens before the first)
}

/**
 * Tokens [start, end) of a packed sequence form a branch off the trunk: they attend to the trunk's tokens
 * [0, attach) and to the branch's own earlier tokens, at positions attach, attach + 1, ...: exactly what they
 * would see as the sequence trunk[0, attach) + branch. Branches follow the trunk and each other, in order.
 */
export interface Branch {
  readonly start: number
  readonly end: number
  readonly attach: number // >= 1
}

/**
 * The attention layout of a batch holding packed sequences (absent when every sequence is plain causal): each token's
 * position and parent. A token attends to its ancestors (its parent's, and so on) and itself: the additive mask
 * (`maskOf`, B*T*T floats) is built from the parents where the tensors are made, on the thread that computes the pass,
 * not carried in the batch (a qa scoring pass's mask is ~8 MB, which a post to a helper thread copied twice).
 * Padding keeps causal rows (finite, never read).
 */
export interface Layout {
  readonly positions: Int32Array // (B*T) each token's position (the learned position it embeds)
  readonly parent: Int32Array // (B*T) within its sequence, the token before it on its path (-1 at the first token)
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
  readonly last: Int32Array // (R,) flat position of each action's final token
  readonly position: Int32Array // (R*A) flat position of each action token itself (the discriminator reads them; a valid position on padding)
  readonly actionLength: Int32Array // (R,)
  readonly layout: Layout | undefined // packed sequences' positions and mask; undefined: every sequence is causal from position 0
}

export const build = (sequences: ReadonlyArray<Sequence>): ActionBatch => {
  const B = sequences.length
  const T = Math.max(1, ...sequences.map((s) => Context.lengthOf(s.parts)))
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
      if (start < 1 || end < start || end > Context.lengthOf(s.parts)) throw new Error(`ActionBatch: bad action span [${start}, ${end})`)
      R++
      A = Math.max(A, end - start)
    }
  })
  const layout = sequences.some((s) => s.branches !== undefined && s.branches.length > 0) ? layoutOf(sequences, T) : undefined
  const parentOf = (b: number, p: number): number => layout === undefined ? p - 1 : layout.parent[b * T + p]!
  const sequenceOf = new Int32Array(R)
  const index = new Int32Array(R * A)
  const target = new Int32Array(R * A)
  const mask = new Float32Array(R * A)
  const last = new Int32Array(R)
  const position = new Int32Array(R * A)
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
          index[k] = b * T + parentOf(b, start + j)
          target[k] = tokens[b * T + start + j]!
          position[k] = b * T + start + j
          mask[k] = 1
        } else {
          index[k] = b * T + parentOf(b, start)
          position[k] = b * T + start
          target[k] = PAD
        }
      }
      r++
    }
  })
  return { tokens, batch: B, length: T, rows: R, width: A, sequenceOf, index, target, mask, last, position, actionLength, layout }
}

/** Positions, parents and the additive mask of a batch (plain sequences are causal trees: parent p - 1). */
const layoutOf = (sequences: ReadonlyArray<Sequence>, T: number): Layout => {
  const B = sequences.length
  const positions = new Int32Array(B * T)
  const parent = new Int32Array(B * T)
  sequences.forEach((s, b) => {
    const n = Context.lengthOf(s.parts)
    const branches = s.branches ?? []
    const trunk = branches.length === 0 ? n : branches[0]!.start
    for (let p = 0; p < T; p++) {
      // the trunk and padding: causal from position 0 (branch rows are set below)
      positions[b * T + p] = p < n ? p : 0
      parent[b * T + p] = p - 1
    }
    let next = trunk
    for (const br of branches) {
      if (br.start !== next || br.end < br.start || br.end > n || br.attach < 1 || br.attach > trunk) {
        throw new Error(`ActionBatch: bad branch [${br.start}, ${br.end}) attached at ${br.attach} (trunk ${trunk}, sequence ${n})`)
      }
      next = br.end
      for (let p = br.start; p < br.end; p++) {
        positions[b * T + p] = br.attach + p - br.start
        parent[b * T + p] = p === br.start ? br.attach - 1 : p - 1
      }
    }
    // padding after branches: causal over the padding only (finite, never read), not through the last branch
    if (branches.length > 0) for (let p = n; p < T; p++) parent[b * T + p] = p === n ? -1 : p - 1
  })
  return { positions, parent }
}

/**
 * The additive attention mask of a layout, (B*T*T): 0 where row i may attend to column j (its ancestors along
 * `parent`, and itself), -1e9 elsewhere. A row is its parent's row plus itself (parents come first). Pure.
 */
export const maskOf = (layout: Layout, B: number, T: number): Float32Array => {
  const mask = new Float32Array(B * T * T).fill(-1e9)
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < T; p++) {
      const row = (b * T + p) * T
      const q = layout.parent[b * T + p]!
      if (q >= 0) mask.copyWithin(row, (b * T + q) * T, (b * T + q) * T + T)
      mask[row + p] = 0
    }
  }
  return mask
}

/** A (state, action) segment as a sequence with one action. */
export const segment = (state: ReadonlyArray<Int32Array>, action: Int32Array): Sequence => {
  const s = Context.lengthOf(state)
  return { parts: [...state, action], actions: [[s, s + action.length]] }
}

/**
 * The slots that hold action tokens (flat R*A indices, in order): the only ones the LM head, the copy head and the
 * value head compute (padding would be ~30% of an SFT pass's rows). At least one (slot 0), so shapes stay non-empty.
 */
export const entries = (b: ActionBatch): Int32Array => {
  const out: Array<number> = []
  b.mask.forEach((m, k) => {
    if (m > 0) out.push(k)
  })
  return Int32Array.from(out.length === 0 ? [0] : out) // a batch without action tokens computes a stand-in, never read
}

export interface Tensors {
  readonly tokens: tf.Tensor2D // (B, T) int32
  readonly rows: number // R
  readonly width: number // A
  readonly index: tf.Tensor1D // (N,) int32: flat position predicting each entry (`entries`)
  readonly target: tf.Tensor1D // (N,) int32: each entry's token
  readonly spread: tf.Tensor1D // (R*A,) int32: each slot's entry, N for padding (a gather from N entries and a zero gives (R*A) values)
  readonly entryMask: tf.Tensor1D // (N,) float32: 1 on every entry but the stand-in of a batch without action tokens
  readonly mask: tf.Tensor2D // (R, A) float32
  readonly last: tf.Tensor1D // (R,) int32
  readonly position: tf.Tensor1D // (R*A,) int32
  readonly layout: Transformer.Layout | undefined // packed batches: positions and mask
  readonly copy: Copy.Plan | undefined // the copy head's host-side plan (models with a copy head)
}

/** The batch's tensors; `withCopy` adds the copy head's plan (`Copy.plan`, host-side arrays). */
export const tensors = (b: ActionBatch, withCopy = false): Tensors => {
  const e = entries(b)
  const spread = new Int32Array(b.rows * b.width).fill(e.length)
  e.forEach((k, n) => {
    if (b.mask[k]! > 0) spread[k] = n
  })
  return {
    copy: withCopy ? Copy.plan(b, e) : undefined,
    tokens: tf.tensor2d(b.tokens, [b.batch, b.length], "int32"),
    rows: b.rows,
    width: b.width,
    index: tf.tensor1d(e.map((k) => b.index[k]!), "int32"),
    target: tf.tensor1d(e.map((k) => b.target[k]!), "int32"),
    spread: tf.tensor1d(spread, "int32"),
    entryMask: tf.tensor1d(e.map((k) => b.mask[k]!), "float32"),
    mask: tf.tensor2d(b.mask, [b.rows, b.width], "float32"),
    last: tf.tensor1d(b.last, "int32"),
    position: tf.tensor1d(b.position, "int32"),
    layout: b.layout === undefined ? undefined : {
      positions: tf.tensor1d(b.layout.positions, "int32"),
      mask: tf.tensor4d(maskOf(b.layout, b.batch, b.length), [b.batch, 1, b.length, b.length])
    }
  }
}
