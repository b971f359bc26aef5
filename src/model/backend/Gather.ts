import * as tf from "@tensorflow/tfjs"
import * as KernelSwap from "./KernelSwap.ts"
import * as Wasm from "./WasmInternals.ts"

/**
 * `GatherV2` on the wasm backend, in place on the heap. The stock kernel checks each index with an assertion that
 * builds a closure per index and then copies element by element with strided offsets: ~20 ns an element for rows
 * of 128 floats (13 ms for a (4800, 128) gather of hidden states) and ~45 ns for scalars (0.1 s for the copy head's
 * `copy.match` bias over 2.3M candidates), 13% of a shop SFT step (measured with tf.profile, docs/model.md). Here the
 * indices are checked in one tight loop (the same error as the stock kernel's) and each slice is one `copyWithin`
 * (a memmove), or a plain loop when slices are one element. Any `batchDims` and axis; the bytes are copied as they
 * are (float32, int32, bool). Complex and string tensors go to the stock kernel.
 */

const swap = KernelSwap.make(tf.GatherV2)

const bytesOf = (dtype: tf.DataType): number | undefined =>
  dtype === "float32" || dtype === "int32" ? 4 : dtype === "bool" ? 1 : undefined

const kernelFunc: tf.KernelFunc = (params) => {
  const { x, indices } = params.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo }
  const { axis, batchDims } = params.attrs as { axis: number; batchDims: number }
  const bytes = bytesOf(x.dtype)
  if (bytes === undefined || (indices.dtype !== "int32" && indices.dtype !== "float32")) return swap.stock(params)
  const backend = Wasm.of(params.backend)
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0]!
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x, indices, parsedAxis, batchDims)
  const count = indices.shape.reduce((p, d) => p * d, 1)
  const perBatch = count / info.batchSize
  const out = backend.makeOutput([...info.outputShape], x.dtype)
  if (tf.util.sizeFromShape(info.outputShape) === 0) return out
  // Views are made after the allocation above: it may grow (and replace) the heap.
  const heap = Wasm.heap(backend) as ArrayBuffer
  const idxData = Wasm.dataOf(backend, indices)
  const idx = indices.dtype === "int32"
    ? new Int32Array(heap, idxData.memoryOffset, count)
    : Int32Array.from(new Float32Array(heap, idxData.memoryOffset, count))
  const dim = info.dimSize
  for (let i = 0; i < count; i++) {
    const v = idx[i]!
    if (!(v >= 0 && v < dim)) throw new Error(`GatherV2: the index value ${v} is not in [0, ${dim - 1}]`)
  }
  const slice = info.sliceSize
  // one element a unit (float32 bits copied as int32 words: exact, NaN payloads included; bool as bytes)
  const units = bytes === 4 ? new Int32Array(heap) : new Uint8Array(heap)
  const xAt = Wasm.dataOf(backend, x).memoryOffset / bytes
  let at = Wasm.dataOf(backend, out).memoryOffset / bytes
  // out[b, o, i, :] = x[b, o, idx[b, i], :]
  for (let b = 0; b < info.batchSize; b++) {
    const first = b * perBatch
    for (let o = 0; o < info.outerSize; o++) {
      const base = xAt + (b * info.outerSize + o) * dim * slice
      if (slice === 1) {
        for (let i = 0; i < perBatch; i++) units[at + i] = units[base + idx[first + i]!]!
        at += perBatch
      } else {
        for (let i = 0; i < perBatch; i++, at += slice) {
          const from = base + idx[first + i]! * slice
          units.copyWithin(at, from, from + slice)
        }
      }
    }
  }
  return out
}

/** Replaces the wasm `GatherV2` kernel (idempotent). */
export const install = (): void => swap.install(kernelFunc)

/** Puts the stock kernel back (idempotent). */
export const uninstall = (): void => swap.uninstall()
