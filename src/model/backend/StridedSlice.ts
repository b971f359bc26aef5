import * as tf from "@tensorflow/tfjs"
import * as KernelSwap from "./KernelSwap.ts"
import * as Wasm from "./WasmInternals.ts"

/**
 * `Slice` on the wasm backend for slices that are not one contiguous range (a block of positions out of (B, H, T, D),
 * a prefix of keys out of (B, H, D, T): attention in query blocks, Transformer.ts). The stock kernel copies those one
 * element at a time through tfjs's generic index arithmetic (~1 ms for 160k floats); here the slice is a sequence of
 * contiguous runs (the axes after the last partly-sliced one are whole) copied with `TypedArray.set` over the heap.
 * Contiguous slices, other dtypes and empty slices go to the stock kernel.
 */

const swap = KernelSwap.make(tf.Slice)

const kernelFunc: tf.KernelFunc = (params) => {
  const { x } = params.inputs as { x: tf.TensorInfo }
  const { begin, size } = params.attrs as unknown as { begin: number | Array<number>; size: number | Array<number> }
  if (x.dtype !== "float32" && x.dtype !== "int32") return swap.stock(params)
  const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size)
  const total = s.reduce((p, d) => p * d, 1)
  if (total === 0 || tf.slice_util.isSliceContinous(x.shape, b, s)) return swap.stock(params)
  const rank = x.shape.length
  // k: the last axis the slice does not take whole; every run is s[k] x (the whole axes after k) contiguous elements
  let k = rank - 1
  while (k > 0 && b[k] === 0 && s[k] === x.shape[k]) k--
  const strides = tf.util.computeStrides(x.shape)
  const stride = (i: number): number => (i === rank - 1 ? 1 : strides[i]!)
  const run = s[k]! * stride(k)
  const backend = Wasm.of(params.backend)
  const out = backend.makeOutput(s, x.dtype)
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

/** Replaces the wasm `Slice` kernel (idempotent). */
export const install = (): void => swap.install(kernelFunc)

/** Puts the stock kernel back (idempotent). */
export const uninstall = (): void => swap.uninstall()
