/**
 * Adam's update as one loop over plain arrays: the passes' gradients summed in pass order and averaged, their global
 * norm, clipping, both moments and the weights, in JavaScript. On the wasm and cpu backends this is what
 * `Optimizer.apply` runs: their tensors live in host memory, and each of the ~12 small kernels per variable that the
 * same maths costs as tfjs ops is a dispatch (with ~75 variables in `small`, ~900 of them: 20-30 ms a step on wasm,
 * against ~10 ms of loops here, measured on the quickstart's 1M-parameter policy with two passes). Float32 where the tensors are float32 (every
 * stored value is rounded to float32, as a tensor would hold it); the norm is summed in float64. Pure: it writes only
 * the arrays it is given.
 */
export interface Hyper {
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
  readonly weightDecay: number // applied where `decays` is true
  readonly learningRate: number // this step's
  readonly step: number // 1-based: the bias corrections use it
}

export interface Averaged {
  readonly grads: ReadonlyArray<Float32Array | null> // per variable, null where no pass reaches it
  readonly norm: number // their global L2 norm (float64 sum of squares, in variable order)
}

/**
 * The per-variable sum of the passes' gradients (in pass order, float32), divided by the pass count, and the global
 * norm of the result. `grads[p][k]` is pass p's gradient of variable k (null or undefined: not reached). A single
 * pass's arrays are used as they are (read, never written).
 */
export const average = (
  grads: ReadonlyArray<ReadonlyArray<Float32Array | null | undefined>>,
  variables: number,
  into?: ReadonlyArray<Float32Array> // per variable, a buffer of its size to sum into (else new arrays)
): Averaged => {
  const n = grads.length
  const out: Array<Float32Array | null> = []
  let squares = 0
  for (let k = 0; k < variables; k++) {
    const list = grads.flatMap((pass) => pass[k] ?? [])
    const sum = list.length === 0 ? null : n === 1 ? list[0]! : mean(list, n, into?.[k] ?? new Float32Array(list[0]!.length))
    if (sum !== null) squares += sumOfSquares(sum)
    out.push(sum)
  }
  return { grads: out, norm: Math.sqrt(squares) }
}

/** The arrays summed in order (float32), divided by `n` (by a multiply when 1/n is exact: the same result, faster). */
const mean = (list: ReadonlyArray<Float32Array>, n: number, out: Float32Array): Float32Array => {
  const first = list[0]!
  const len = first.length
  const exact = Number.isInteger(Math.log2(n))
  const inverse = 1 / n
  if (list.length === 2 && exact) {
    const second = list[1]!
    for (let i = 0; i < len; i++) out[i] = Math.fround(first[i]! + second[i]!) * inverse
    return out
  }
  for (let i = 0; i < len; i++) {
    let acc = first[i]!
    for (let j = 1; j < list.length; j++) acc = Math.fround(acc + list[j]![i]!)
    out[i] = exact ? acc * inverse : acc / n
  }
  return out
}

const sumOfSquares = (x: Float32Array): number => {
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!
  return s
}

/** The factor that caps the norm at `clipNorm` (0: no clipping), as PyTorch's clip_grad_norm_ computes it. */
export const clipScale = (gradNorm: number, clipNorm: number): number => clipNorm > 0 ? Math.min(1, clipNorm / (gradNorm + 1e-6)) : 1

/**
 * One variable's Adam step in place: `w`, `m`, `v` updated from the gradient `g` times `scale`, in PyTorch's form
 * (the bias corrections folded into the step size and epsilon: one square root and one division per weight).
 */
export const update = (w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, scale: number, h: Hyper, decays: boolean): void => {
  const b1 = h.beta1
  const b2 = h.beta2
  const root2 = Math.sqrt(1 - Math.pow(b2, h.step))
  const stepSize = h.learningRate * root2 / (1 - Math.pow(b1, h.step)) // lr * sqrt(1 - b2^t) / (1 - b1^t)
  const eps = h.epsilon * root2 // epsilon added to sqrt(v / (1 - b2^t)), moved inside the correction
  const decay = decays ? h.learningRate * h.weightDecay : 0
  for (let i = 0; i < w.length; i++) {
    const gi = g[i]! * scale
    const mi = b1 * m[i]! + (1 - b1) * gi
    const vi = b2 * v[i]! + (1 - b2) * gi * gi
    m[i] = mi
    v[i] = vi
    const wi = w[i]!
    w[i] = wi - stepSize * Math.fround(mi) / (Math.sqrt(Math.fround(vi)) + eps) - decay * wi
  }
}
