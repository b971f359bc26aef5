/**
 * How a batched, possibly broadcast matmul `op(A) · op(B)` decomposes into plain 2-D products (pure maths, no
 * tensors). A's matrices are `m×k` (`k×m` stored when transposed), B's `k×n` (`n×k` when transposed), the output's
 * `m×n`; batch dimensions broadcast as numpy does. Offsets are in elements from the start of each operand.
 *
 * When B has a single matrix and A is not broadcast, A's matrices stack into one tall `(batch·m)×k` matrix and the
 * whole product is one 2-D call (`folded`): the form XNNPACK is fastest at and the form of every projection in a
 * transformer (`(B, T, C) · (C, N)`). Otherwise there is one call per output matrix.
 */

/** One 2-D product: C[c..] (m×n) = op(A[a..]) · op(B[b..]). */
export interface Call {
  readonly a: number
  readonly b: number
  readonly c: number
  readonly m: number
  /** Whether this operand is its whole tensor (offset 0, every element): lets a kernel pass the tensor itself. */
  readonly wholeA: boolean
  readonly wholeB: boolean
  readonly wholeC: boolean
}

export interface Plan {
  readonly m: number
  readonly n: number
  readonly k: number
  /** The broadcast batch shape followed by m, n. */
  readonly outShape: ReadonlyArray<number>
  /** Number of matrices in A, in B and in the output. */
  readonly batchA: number
  readonly batchB: number
  readonly batchOut: number
  readonly folded: boolean
  readonly calls: ReadonlyArray<Call>
}

const size = (shape: ReadonlyArray<number>): number => shape.reduce((p, d) => p * d, 1)

/** Numpy broadcast of two shapes, or undefined when they do not broadcast. */
export const broadcastShape = (x: ReadonlyArray<number>, y: ReadonlyArray<number>): ReadonlyArray<number> | undefined => {
  const rank = Math.max(x.length, y.length)
  const out: Array<number> = []
  for (let i = 0; i < rank; i++) {
    const dx = x[x.length - rank + i] ?? 1
    const dy = y[y.length - rank + i] ?? 1
    if (dx !== dy && dx !== 1 && dy !== 1) return undefined
    out.push(dx === 1 ? dy : dx)
  }
  return out
}

/** Flat index into a (broadcast) operand's batch for each flat index of the output batch. */
const batchIndices = (operand: ReadonlyArray<number>, out: ReadonlyArray<number>): Array<number> => {
  const rank = out.length
  const padded = Array.from({ length: rank }, (_, i) => operand[operand.length - rank + i] ?? 1)
  const strides = new Array<number>(rank).fill(0)
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    strides[i] = padded[i] === 1 ? 0 : s
    s *= padded[i]
  }
  const total = size(out)
  const indices = new Array<number>(total)
  for (let flat = 0; flat < total; flat++) {
    let rest = flat
    let index = 0
    for (let i = rank - 1; i >= 0; i--) {
      const d = out[i]
      index += (rest % d) * strides[i]
      rest = Math.floor(rest / d)
    }
    indices[flat] = index
  }
  return indices
}

/**
 * The plan for `op(A) · op(B)`, or undefined when the shapes do not multiply (rank < 2, inner sizes differ,
 * batches do not broadcast). `aTransposedInPlace` says whether A is still transposed when the calls run (a kernel
 * that materialises the transpose first passes false): only an untransposed A can fold into rows.
 */
export const plan = (
  aShape: ReadonlyArray<number>,
  bShape: ReadonlyArray<number>,
  transposeA: boolean,
  transposeB: boolean,
  aTransposedInPlace: boolean = transposeA // default: the calls see A as stored
): Plan | undefined => {
  const ar = aShape.length
  const br = bShape.length
  if (ar < 2 || br < 2) return undefined
  const m = transposeA ? aShape[ar - 1] : aShape[ar - 2]
  const k = transposeA ? aShape[ar - 2] : aShape[ar - 1]
  const kb = transposeB ? bShape[br - 1] : bShape[br - 2]
  const n = transposeB ? bShape[br - 2] : bShape[br - 1]
  if (k !== kb) return undefined
  const outBatch = broadcastShape(aShape.slice(0, -2), bShape.slice(0, -2))
  if (outBatch === undefined) return undefined
  const batchA = size(aShape.slice(0, -2))
  const batchB = size(bShape.slice(0, -2))
  const batchOut = size(outBatch)
  const outShape = [...outBatch, m, n]
  if (batchB === 1 && batchA === batchOut && !aTransposedInPlace) {
    const call: Call = { a: 0, b: 0, c: 0, m: batchA * m, wholeA: true, wholeB: true, wholeC: true }
    return { m, n, k, outShape, batchA, batchB, batchOut, folded: true, calls: batchOut === 0 ? [] : [call] }
  }
  const ia = batchIndices(aShape.slice(0, -2), outBatch)
  const ib = batchIndices(bShape.slice(0, -2), outBatch)
  const calls: Array<Call> = []
  for (let i = 0; i < batchOut; i++) {
    calls.push({
      a: ia[i] * m * k,
      b: ib[i] * k * n,
      c: i * m * n,
      m,
      wholeA: batchA === 1,
      wholeB: batchB === 1,
      wholeC: batchOut === 1
    })
  }
  return { m, n, k, outShape, batchA, batchB, batchOut, folded: false, calls }
}
