import * as tf from "@tensorflow/tfjs"
import * as KernelSwap from "./KernelSwap.ts"
import * as Wasm from "./WasmInternals.ts"

/**
 * `Slice` and `SplitV` on the wasm backend for slices that are not one contiguous range (a block of positions out of
 * (B, H, T, D), a prefix of keys out of (B, H, D, T): attention in query blocks, Transformer.ts; the split is the
 * gradient of its concatenation). The stock kernels copy those one element at a time through tfjs's generic index
 * arithmetic (~1 ms for 160k floats); here a slice is a sequence of contiguous runs (the axes after the last
 * partly-sliced one are whole) copied with `TypedArray.set` over the heap. Contiguous slices, other dtypes and empty
 * slices go to the stock kernels.
 */

const sliceSwap = KernelSwap.make(tf.Slice)
const splitSwap = KernelSwap.make(tf.SplitV)

const strided = (x: tf.TensorInfo, b: ReadonlyArray<number>, s: ReadonlyArray<number>): boolean =>
  (x.dtype === "float32" || x.dtype === "int32") && s.every((d) => d > 0) && !tf.slice_util.isSliceContinous(x.shape, [...b], [...s])

/** The slice [b, b + s) of x as a new wasm tensor (x float32 or int32, the slice not empty). */
const copy = (backendInfo: unknown, x: tf.TensorInfo, b: ReadonlyArray<number>, s: ReadonlyArray<number>): tf.TensorInfo => {
  const total = s.reduce((p, d) => p * d, 1)
  const rank = x.shape.length
  // k: the last axis the slice does not take whole; every run is s[k] x (the whole axes after k) contiguous elements
  let k = rank - 1
  while (k > 0 && b[k] === 0 && s[k] === x.shape[k]) k--
  const strides = tf.util.computeStrides(x.shape)
  const stride = (i: number): number => (i === rank - 1 ? 1 : strides[i]!)
  const run = s[k]! * stride(k)
  const backend = Wasm.of(backendInfo)
  const out = backend.makeOutput([...s], x.dtype)
  const heap = Wasm.heap(backend) as ArrayBuffer // after makeOutput: it may grow (and replace) the heap
  const View = x.dtype === "float32" ? Float32Array : Int32Array
  const src = new View(heap, Wasm.dataOf(backend, x).memoryOffset, x.shape.reduce((p, d) => p * d, 1))
  const dst = new View(heap, Wasm.dataOf(backend, out).memoryOffset, total)
  // an odometer over the axes before k
  const index = new Array<number>(k).fill(0)
  let from = b.reduce((o, bi, i) => o + bi * stride(i), 0)
  for (let to = 0; to < total; to += run) {
    dst.set(src.subarray(from, from + run), to)
    for (let i = k - 1; i >= 0; i--) {
      index[i] = index[i]! + 1
      from += stride(i)
      if (index[i]! < s[i]!) break
      from -= s[i]! * stride(i)
      index[i] = 0
    }
  }
  return out
}

const slice: tf.KernelFunc = (params) => {
  const { x } = params.inputs as { x: tf.TensorInfo }
  const { begin, size } = params.attrs as unknown as { begin: number | Array<number>; size: number | Array<number> }
  const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size)
  return strided(x, b, s) ? copy(params.backend, x, b, s) : sliceSwap.stock(params)
}

const splitV: tf.KernelFunc = (params) => {
  const { x } = params.inputs as { x: tf.TensorInfo }
  const { axis, numOrSizeSplits } = params.attrs as unknown as { axis: number | Array<number>; numOrSizeSplits: number | Array<number> }
  const a = tf.util.parseAxisParam(axis, x.shape)[0]!
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, a)
  const shapes = sizes.map((n) => x.shape.map((d, i) => (i === a ? n : d)))
  const begins = sizes.map((_, j) => x.shape.map((_, i) => (i === a ? sizes.slice(0, j).reduce((p, n) => p + n, 0) : 0)))
  return shapes.map((s, j) =>
    strided(x, begins[j]!, s)
      ? copy(params.backend, x, begins[j]!, s)
      : sliceSwap.stock({ inputs: { x }, attrs: { begin: begins[j]!, size: s }, backend: params.backend }) as tf.TensorInfo
  )
}

/** Replaces the wasm `Slice` and `SplitV` kernels (idempotent). */
export const install = (): void => {
  sliceSwap.install(slice)
  splitSwap.install(splitV)
}

/** Puts the stock kernels back (idempotent). */
export const uninstall = (): void => {
  sliceSwap.uninstall()
  splitSwap.uninstall()
}
