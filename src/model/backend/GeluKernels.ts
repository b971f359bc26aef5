import * as tf from "@tensorflow/tfjs"
import * as Wasm from "./WasmInternals.ts"

/**
 * Two elementwise kernels of tanh-GELU (src/model/Gelu.ts), one pass each in JS over the tensors' own arrays, for the
 * wasm and cpu backends:
 *   `StepagentGeluArgument`: x -> 2u = 2 sqrt(2/π) (x + 0.044715 x³)                        (then tfjs's Sigmoid)
 *   `StepagentGeluGrad`:     (dy, x, s) -> dy (s + x s (1 - s) · 2 sqrt(2/π) (1 + 3 · 0.044715 x²)),  s = σ(2u)
 * Composed from tfjs ops they are 5 and 10 kernels, each a pass over the MLP's widest tensor (N, 4C): measured on
 * `small` (wasm, one thread, a quickstart pass of 1,292 x 512) ~0.6 ms a pass, ~9 ms for both, where these take 0.9 ms
 * (2u) and 2.5 ms (the gradient, three inputs). σ stays tfjs's Sigmoid: a JS pass with Math.exp is slower than wasm's.
 * Other backends (TensorFlow) have no such kernels and Gelu.ts composes the formula from tfjs ops there.
 */

export const names = { argument: "StepagentGeluArgument", grad: "StepagentGeluGrad" } as const

const c2 = 2 * Math.sqrt(2 / Math.PI)
const a = 0.044715

/** out = 2u of x, elementwise. */
export const argument = (x: Float32Array, out: Float32Array): void => {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!
    out[i] = c2 * (v + a * v * v * v)
  }
}

/** out = dy · dGELU/dx at x, given s = σ(2u), elementwise. */
export const grad = (dy: Float32Array, x: Float32Array, s: Float32Array, out: Float32Array): void => {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!
    const g = s[i]!
    out[i] = dy[i]! * (g + v * g * (1 - g) * c2 * (1 + 3 * a * v * v))
  }
}

const size = (t: tf.TensorInfo): number => t.shape.reduce((p, d) => p * d, 1)

/** The kernels take float32 inputs of one shape (no broadcasting): what Gelu.ts gives them. */
const float32 = (kernel: string, ts: ReadonlyArray<tf.TensorInfo>): void => {
  const bad = ts.find((t) => t.dtype !== "float32")
  if (bad !== undefined) throw new Error(`${kernel}: dtype ${bad.dtype} is not supported (float32 only)`)
  const other = ts.find((t) => t.shape.join() !== ts[0]!.shape.join())
  if (other !== undefined) throw new Error(`${kernel}: inputs of shapes [${ts[0]!.shape}] and [${other.shape}] (one shape only)`)
}

/** On wasm: the inputs and the output are views of the heap, no copies. */
const wasmKernel = (kernel: string, run: (inputs: ReadonlyArray<Float32Array>, out: Float32Array) => void, order: ReadonlyArray<string>): tf.KernelFunc =>
  (params) => {
    const ts = order.map((k) => (params.inputs as Record<string, tf.TensorInfo>)[k]!)
    float32(kernel, ts)
    const backend = Wasm.of(params.backend)
    const shape = ts[0]!.shape
    const out = backend.makeOutput(shape, "float32")
    const heap = Wasm.heap(backend) as ArrayBuffer // after makeOutput: the allocation may grow the heap
    const n = size(ts[0]!)
    run(ts.map((t) => new Float32Array(heap, Wasm.dataOf(backend, t).memoryOffset, n)), new Float32Array(heap, Wasm.dataOf(backend, out).memoryOffset, n))
    return out
  }

/** The cpu backend's view of its tensors (`backend.data`, `makeTensorInfo`), restated: tfjs does not export its type. */
interface CpuBackend {
  readonly data: { readonly get: (dataId: object) => { readonly values: unknown } }
  readonly makeTensorInfo: (shape: ReadonlyArray<number>, dtype: "float32", values: Float32Array) => tf.TensorInfo
}

const cpuKernel = (kernel: string, run: (inputs: ReadonlyArray<Float32Array>, out: Float32Array) => void, order: ReadonlyArray<string>): tf.KernelFunc =>
  (params) => {
    const ts = order.map((k) => (params.inputs as Record<string, tf.TensorInfo>)[k]!)
    float32(kernel, ts)
    const backend = params.backend as unknown as CpuBackend
    const out = new Float32Array(size(ts[0]!))
    run(ts.map((t) => backend.data.get(t.dataId).values as Float32Array), out)
    return backend.makeTensorInfo(ts[0]!.shape, "float32", out)
  }

const kernels = [
  { name: names.argument, order: ["x"], run: (i: ReadonlyArray<Float32Array>, o: Float32Array) => argument(i[0]!, o) },
  { name: names.grad, order: ["dy", "x", "s"], run: (i: ReadonlyArray<Float32Array>, o: Float32Array) => grad(i[0]!, i[1]!, i[2]!, o) }
] as const

/** Registers both kernels on the wasm and cpu backends (idempotent). */
export const install = (): void => {
  for (const k of kernels) {
    if (tf.getKernel(k.name, "wasm") === undefined) tf.registerKernel({ kernelName: k.name, backendName: "wasm", kernelFunc: wasmKernel(k.name, k.run, k.order) })
    if (tf.getKernel(k.name, "cpu") === undefined) tf.registerKernel({ kernelName: k.name, backendName: "cpu", kernelFunc: cpuKernel(k.name, k.run, k.order) })
  }
}

/** Whether the current backend has the kernels. */
export const available = (): boolean => tf.getKernel(names.grad, tf.getBackend()) !== undefined
