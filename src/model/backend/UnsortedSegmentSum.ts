import * as tf from "@tensorflow/tfjs"
import * as Wasm from "./WasmInternals.ts"

/**
 * `UnsortedSegmentSum` for the wasm backend, which lacks it. The gradient of `tf.gather` is this kernel, so
 * without it an embedding lookup cannot train on wasm. `out[s, ...] = Σ x[i, ...]` over the i with
 * `segmentIds[i] = s`; ids outside [0, numSegments) are dropped (as the cpu backend does). One pass over x in JS,
 * reading and writing the wasm heap in place.
 */

const kernelFunc: tf.KernelFunc = (params) => {
  const { segmentIds, x } = params.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo }
  const numSegments = (params.attrs as { numSegments: number }).numSegments
  if (x.dtype !== "float32" && x.dtype !== "int32") throw new Error(`UnsortedSegmentSum on wasm: dtype ${x.dtype} is not supported`)
  const backend = Wasm.of(params.backend)
  const inner = x.shape.slice(segmentIds.shape.length)
  const width = inner.reduce((p, d) => p * d, 1)
  const rows = segmentIds.shape.reduce((p, d) => p * d, 1)
  const out = backend.makeOutput([numSegments, ...inner], x.dtype)
  // Views are made after the allocation above: it may grow (and replace) the heap.
  const heap = Wasm.heap(backend) as ArrayBuffer
  const Values = x.dtype === "float32" ? Float32Array : Int32Array
  const outValues = new Values(heap, Wasm.dataOf(backend, out).memoryOffset, numSegments * width)
  const xValues = new Values(heap, Wasm.dataOf(backend, x).memoryOffset, rows * width)
  const idsData = Wasm.dataOf(backend, segmentIds)
  const ids = segmentIds.dtype === "int32"
    ? new Int32Array(heap, idsData.memoryOffset, rows)
    : Int32Array.from(new Float32Array(heap, idsData.memoryOffset, rows))
  outValues.fill(0)
  for (let i = 0; i < rows; i++) {
    const s = ids[i]
    if (s < 0 || s >= numSegments) continue
    const from = i * width
    const to = s * width
    for (let j = 0; j < width; j++) outValues[to + j] += xValues[from + j]
  }
  return out
}

/** Registers the kernel on the wasm backend (idempotent). */
export const install = (): void => {
  if (tf.getKernel(tf.UnsortedSegmentSum, "wasm") !== undefined) return
  tf.registerKernel({ kernelName: tf.UnsortedSegmentSum, backendName: "wasm", kernelFunc })
}
