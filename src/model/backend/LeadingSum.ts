import * as tf from "@tensorflow/tfjs"
import * as KernelSwap from "./KernelSwap.ts"
import * as SimdColumnSum from "./SimdColumnSum.ts"
import * as Wasm from "./WasmInternals.ts"

/**
 * `Sum` over leading axes on the wasm backend. The stock kernel reduces innermost axes only, so for a sum over
 * rows (every bias and LayerNorm-gain gradient: `(B·T, C) -> (C)`) it first transposes the whole input with the
 * wasm Transpose kernel, ~10 ns an element (~25 ms for 2048×1024). Summing rows in place is one sequential pass
 * (~1 ns an element in JS; in WebAssembly SIMD across columns where the runtime has it, SimdColumnSum.ts, the same
 * float64 sums to the bit). Every other sum (inner axes, non-float32) goes to the stock kernel unchanged.
 */

const swap = KernelSwap.make(tf.Sum)

/** The reduced axes as sorted non-negative indices. */
const axesOf = (axis: number | ReadonlyArray<number> | null | undefined, rank: number): Array<number> => {
  const list = axis === undefined || axis === null ? Array.from({ length: rank }, (_, i) => i) : typeof axis === "number" ? [axis] : [...axis]
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b)
}

const kernelFunc: tf.KernelFunc = (params) => {
  const { x } = params.inputs as { x: tf.TensorInfo }
  const { axis, keepDims } = params.attrs as { axis?: number | Array<number> | null; keepDims?: boolean }
  const rank = x.shape.length
  const axes = axesOf(axis, rank)
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i)
  if (x.dtype !== "float32" || !leading) return swap.stock(params)
  const backend = Wasm.of(params.backend)
  const rows = x.shape.slice(0, axes.length).reduce((p, d) => p * d, 1)
  const rest = x.shape.slice(axes.length)
  const width = rest.reduce((p, d) => p * d, 1)
  const out = backend.makeOutput(keepDims === true ? [...axes.map(() => 1), ...rest] : rest, "float32")
  const from = Wasm.dataOf(backend, x).memoryOffset
  const to = Wasm.dataOf(backend, out).memoryOffset
  const memory = Wasm.memory(backend)
  const simd = memory === undefined ? undefined : SimdColumnSum.forMemory(memory)
  if (simd !== undefined) {
    simd(from, to, rows, width)
    return out
  }
  const heap = Wasm.heap(backend) as ArrayBuffer
  const xs = new Float32Array(heap, from, rows * width)
  const sums = new Float32Array(heap, to, width)
  // Accumulated in float64: thousands of rows summed in float32 would lose digits the cpu backend keeps.
  const acc = new Float64Array(width)
  for (let i = 0, o = 0; i < rows; i++, o += width) {
    for (let j = 0; j < width; j++) acc[j] += xs[o + j]
  }
  sums.set(acc)
  return out
}

/** Replaces the wasm `Sum` kernel (idempotent). */
export const install = (): void => swap.install(kernelFunc)

/** Puts the stock kernel back (idempotent). */
export const uninstall = (): void => swap.uninstall()
