import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import * as KernelSwap from "./KernelSwap.ts"
import * as Wasm from "./WasmInternals.ts"

/**
 * A `Sum` kernel for the wasm backend that reduces leading axes in place through the OpenBLAS addon's `sumRows`.
 *
 * Why: every bias and LayerNorm gain gradient is a sum over the rows of an (N, C) activation gradient. The stock
 * wasm kernel reduces only innermost axes, so it first transposes the whole (N, C) input: on STACK.md's GPT step
 * that made Sum ~20% of the step once the matmuls ran on OpenBLAS (27 sums of (2048, 256), ~4 ms each).
 * Column sums straight off the heap take a fraction of a millisecond. Anything else (other axes, non-float32
 * inputs) goes to the stock kernel. Installed by OpenBlas.load with the addon, so only when OpenBLAS is the path.
 */

/** The addon function this kernel needs (OpenBlas.Addon has it). */
export interface SumRows {
  readonly sumRows: (memory: ArrayBufferLike | ArrayBufferView, rows: number, cols: number, x: number, out: number) => void
}

/** How a sum over `axis` of `shape` is a column sum of a rows × cols matrix, or undefined when it is not. */
export interface Plan {
  readonly rows: number
  readonly cols: number
  readonly outShape: ReadonlyArray<number>
}

/** Pure: the plan when the reduced axes are exactly 0..p-1 (p ≥ 1) of `shape`; tfjs's null axis means every axis. */
export const plan = (shape: ReadonlyArray<number>, axis: number | ReadonlyArray<number> | null | undefined, keepDims: boolean): Plan | undefined => {
  const rank = shape.length
  const given = axis === null || axis === undefined ? shape.map((_, i) => i) : typeof axis === "number" ? [axis] : [...axis]
  const axes = [...new Set(given.map((a) => (a < 0 ? a + rank : a)))].sort((x, y) => x - y)
  const p = axes.length
  if (p === 0 || axes.some((a, i) => a !== i) || axes[p - 1] >= rank) return undefined
  const size = (dims: ReadonlyArray<number>) => dims.reduce((s, d) => s * d, 1)
  return {
    rows: size(shape.slice(0, p)),
    cols: size(shape.slice(p)),
    outShape: keepDims ? shape.map((d, i) => (i < p ? 1 : d)) : shape.slice(p)
  }
}

const swap = KernelSwap.make(tf.Sum)
let addon: SumRows | undefined

const sum: tf.KernelFunc = (params) => {
  const { x } = params.inputs as { x: tf.TensorInfo }
  const attrs = (params.attrs ?? {}) as { axis?: number | Array<number> | null; keepDims?: boolean }
  const p = x.dtype === "float32" ? plan(x.shape, attrs.axis, attrs.keepDims === true) : undefined
  if (p === undefined || addon === undefined) {
    return swap.stock(params)
  }
  const backend = Wasm.of(params.backend)
  const out = backend.makeOutput([...p.outShape], "float32")
  if (p.cols === 0) return out
  const heap = Wasm.heap(backend)
  const memory = heap instanceof ArrayBuffer ? heap : new Uint8Array(heap)
  addon.sumRows(memory, p.rows, p.cols, Wasm.dataOf(backend, x).memoryOffset, Wasm.dataOf(backend, out).memoryOffset)
  return out
}

/** Replaces the wasm backend's Sum with this kernel, summing through `withAddon` (idempotent; a new addon replaces the old). */
export const install = (withAddon: SumRows): void => {
  addon = withAddon
  swap.install(sum)
}

/** Puts the stock Sum back (idempotent). */
export const uninstall = (): void => {
  swap.uninstall()
  addon = undefined
}

/** Whether this kernel is the wasm backend's Sum now. */
export const installed = (): boolean => swap.installed()
