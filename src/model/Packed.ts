import * as Tokenized from "../domain/Tokenized.ts"
import * as ActionBatch from "./ActionBatch.ts"
import * as Context from "./Context.ts"
import * as Microbatch from "./Microbatch.ts"

/**
 * Prefix-packed (state, action) pairs: every state of one expert trajectory is a prefix of one token
 * sequence, the trajectory's window (`Context.windows`: a window's step states equal `Context.state`). So the
 * pairs of a trajectory go through the model as one sequence: the window as the trunk (the expert's actions
 * are already in it), each other action as a branch that sees only its state's prefix of the trunk, at the
 * positions continuing it (`ActionBatch.Branch`). A pair then costs its action's tokens, not its whole state:
 * per-pair scoring and training cost the sum of the states' lengths, which grows with the square of the
 * trajectory's length. Log-probs, values and gradients equal the per-pair ones (`Score.segmentSequence`) up to
 * float rounding (test/model/Packed.test.ts). Pure.
 */

/** A (state, action) pair: at step `step` of `trajectory`, the expert's action when `action` is absent, else that action. */
export interface Request {
  readonly trajectory: Tokenized.TokenizedTrajectory
  readonly step: number
  readonly action?: Int32Array | undefined
}

export interface Options {
  // longest packed sequence, trunk plus branches (default 2 x the context length: attention activations grow with
  // the square of a sequence's length, so one packed sequence costs at most 4x an unpacked one's; a trunk with more
  // branches is repeated in another sequence)
  readonly maxLength?: number | undefined
}

export interface Packing {
  readonly sequences: ReadonlyArray<ActionBatch.Sequence>
  readonly lengths: ReadonlyArray<number> // tokens of each sequence
  readonly requestsOf: ReadonlyArray<Int32Array> // per sequence, the request behind each of its actions, in action order
}

/** Concatenated `parts` cut to their first `n` tokens (views, no copy). */
const head = (parts: ReadonlyArray<Int32Array>, n: number): Array<Int32Array> => {
  const out: Array<Int32Array> = []
  let left = n
  for (const p of parts) {
    if (left <= 0) break
    out.push(p.length <= left ? p : p.subarray(0, left))
    left -= p.length
  }
  return out
}

/**
 * Packs requests: per trajectory (by identity) and window, one sequence holding the window's trunk up to the
 * last token a request needs, the expert requests as spans of the trunk and the other requests as branches.
 * A request's action is cut to the context as `Score.segmentSequence` cuts it.
 */
export const pack = (contextLength: number, requests: ReadonlyArray<Request>, options: Options = {}): Packing => {
  const maxLength = options.maxLength ?? 2 * contextLength
  const byTrajectory = new Map<Tokenized.TokenizedTrajectory, Array<number>>()
  requests.forEach((r, i) => {
    if (!Number.isInteger(r.step) || r.step < 0 || r.step >= Tokenized.stepCount(r.trajectory)) {
      throw new Error(`Packed: request ${i} names step ${r.step} of a ${Tokenized.stepCount(r.trajectory)}-step trajectory`)
    }
    const list = byTrajectory.get(r.trajectory)
    if (list === undefined) byTrajectory.set(r.trajectory, [i])
    else list.push(i)
  })
  const sequences: Array<ActionBatch.Sequence> = []
  const lengths: Array<number> = []
  const requestsOf: Array<Int32Array> = []
  for (const [t, list] of byTrajectory) {
    for (const w of Context.windows(t, contextLength)) {
      const mine = list.filter((i) => requests[i]!.step >= w.firstStep && requests[i]!.step <= w.lastStep)
      if (mine.length === 0) continue
      const span = (i: number) => w.actions[requests[i]!.step - w.firstStep]!
      const experts = mine.filter((i) => requests[i]!.action === undefined)
      const branches = mine.filter((i) => requests[i]!.action !== undefined)
      const branchTokens = (i: number) => {
        const attach = span(i)[0]
        return requests[i]!.action!.subarray(0, contextLength - attach) // an action longer than the reserve keeps what fits
      }
      // chunks of branches within maxLength (at least one pair each). The j-th expert request at a step rides in the
      // chunk of the j-th branch at that step (a DPO pair or a discriminator pair stays in one sequence, so in one
      // pass), else in the first; a branch at a step with an expert request counts that expert action in its trunk.
      const hasExpert = new Set(experts.map((i) => requests[i]!.step))
      const need = (i: number) => hasExpert.has(requests[i]!.step) ? span(i)[1] : span(i)[0]
      const chunks: Array<Array<number>> = [[]]
      let trunk = 0 // the current chunk's trunk end
      let tail = 0 // and its branch tokens
      for (const i of branches) {
        const n = branchTokens(i).length
        const current = chunks[chunks.length - 1]!
        if (current.length > 0 && Math.max(trunk, need(i)) + tail + n > maxLength) {
          chunks.push([i])
          trunk = need(i)
          tail = n
        } else {
          current.push(i)
          trunk = Math.max(trunk, need(i))
          tail += n
        }
      }
      const branchChunks = new Map<number, Array<number>>() // per step, the chunk of its 1st, 2nd, ... branch
      chunks.forEach((chunk, c) => {
        for (const i of chunk) {
          const step = requests[i]!.step
          branchChunks.set(step, [...(branchChunks.get(step) ?? []), c])
        }
      })
      const ridesIn: Array<Array<number>> = chunks.map(() => [])
      const seen = new Map<number, number>()
      for (const e of experts) {
        const step = requests[e]!.step
        const j = seen.get(step) ?? 0
        seen.set(step, j + 1)
        ridesIn[branchChunks.get(step)?.[j] ?? 0]!.push(e)
      }
      chunks.forEach((chunk, c) => {
        const ex = ridesIn[c]!
        if (ex.length === 0 && chunk.length === 0) return
        const trunk = Math.max(...ex.map((i) => span(i)[1]), ...chunk.map((i) => span(i)[0]))
        const parts = head(w.parts, trunk)
        const actions: Array<readonly [number, number]> = ex.map((i) => span(i))
        const bs: Array<ActionBatch.Branch> = []
        let at = trunk
        for (const i of chunk) {
          const a = branchTokens(i)
          parts.push(a)
          bs.push({ start: at, end: at + a.length, attach: span(i)[0] })
          actions.push([at, at + a.length])
          at += a.length
        }
        sequences.push(bs.length === 0 ? { parts, actions } : { parts, actions, branches: bs })
        lengths.push(at)
        requestsOf.push(Int32Array.from([...ex, ...chunk]))
      })
    }
  }
  return { sequences, lengths, requestsOf }
}

/** One forward pass's batch and the request behind each of its rows. */
export interface Pass {
  readonly batch: ActionBatch.ActionBatch
  readonly requests: Int32Array // (R,)
}

/**
 * The packed sequences in passes of at most `maxTokens` padded tokens (count x longest), longest first; at least
 * `minPasses` when there are that many sequences (balanced: `Microbatch.plan`), for training threads to share.
 */
export const passes = (p: Packing, maxTokens: number, minPasses = 1): Array<Pass> =>
  Microbatch.plan(p.lengths, maxTokens, 1, minPasses).map((seqs) => ({
    batch: ActionBatch.build(seqs.map((s) => p.sequences[s]!)),
    requests: Int32Array.from(seqs.flatMap((s) => Array.from(p.requestsOf[s]!)))
  }))
