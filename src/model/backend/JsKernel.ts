import * as tf from "@tensorflow/tfjs"
import * as Wasm from "./WasmInternals.ts"

/**
 * A tfjs kernel written as one JS function over its tensors' float32 arrays, registered for the wasm backend (views of
 * the heap, no copies) and the cpu backend (its own arrays). For fusing elementwise maths that tfjs ops spell as many
 * passes over a large tensor (GeluKernels.ts). JS has no SIMD here: a JS pass costs about two wasm elementwise kernels
 * (measured: a LayerNorm as two JS kernels over 1,292 x 128 was no faster than its 20 tfjs kernels), so this pays only
 * where it replaces several. TensorFlow backends have no such kernels: callers check `available` and compose tfjs ops.
 */
export interface Spec {
  readonly name: string
  /** The input names, in the order `run` receives their arrays. */
  readonly inputs: ReadonlyArray<string>
  /** The outputs' shapes from the inputs' (float32 each). */
  readonly outputs: (shapes: ReadonlyArray<ReadonlyArray<number>>) => ReadonlyArray<ReadonlyArray<number>>
  /** Fails with a one-line reason when the inputs' shapes do not fit. */
  readonly check: (shapes: ReadonlyArray<ReadonlyArray<number>>) => string | undefined
  readonly run: (inputs: ReadonlyArray<Float32Array>, outputs: ReadonlyArray<Float32Array>, attrs: tf.NamedAttrMap) => void
}

const size = (shape: ReadonlyArray<number>): number => shape.reduce((p, d) => p * d, 1)

const inputsOf = (spec: Spec, params: Parameters<tf.KernelFunc>[0]): ReadonlyArray<tf.TensorInfo> => {
  const ts = spec.inputs.map((k) => (params.inputs as Record<string, tf.TensorInfo | undefined>)[k])
  const missing = spec.inputs.find((_, i) => ts[i] === undefined)
  if (missing !== undefined) throw new Error(`${spec.name}: input ${missing} is missing`)
  const given = ts as ReadonlyArray<tf.TensorInfo>
  const bad = given.find((t) => t.dtype !== "float32")
  if (bad !== undefined) throw new Error(`${spec.name}: dtype ${bad.dtype} is not supported (float32 only)`)
  const wrong = spec.check(given.map((t) => t.shape))
  if (wrong !== undefined) throw new Error(`${spec.name}: ${wrong}`)
  return given
}

const wasmKernel = (spec: Spec): tf.KernelFunc => (params) => {
  const ts = inputsOf(spec, params)
  const backend = Wasm.of(params.backend)
  const outs = spec.outputs(ts.map((t) => t.shape)).map((shape) => backend.makeOutput([...shape], "float32"))
  const heap = Wasm.heap(backend) as ArrayBuffer // after makeOutput: an allocation may grow (and replace) the heap
  const view = (t: tf.TensorInfo) => new Float32Array(heap, Wasm.dataOf(backend, t).memoryOffset, size(t.shape))
  spec.run(ts.map(view), outs.map(view), params.attrs ?? {})
  return outs.length === 1 ? outs[0]! : outs
}

/** The cpu backend's view of its tensors (`data`, `makeTensorInfo`), restated: tfjs does not export its type. */
interface CpuBackend {
  readonly data: { readonly get: (dataId: object) => { readonly values: unknown } }
  readonly makeTensorInfo: (shape: ReadonlyArray<number>, dtype: "float32", values: Float32Array) => tf.TensorInfo
}

const cpuKernel = (spec: Spec): tf.KernelFunc => (params) => {
  const ts = inputsOf(spec, params)
  const backend = params.backend as unknown as CpuBackend
  const shapes = spec.outputs(ts.map((t) => t.shape))
  const arrays = shapes.map((shape) => new Float32Array(size(shape)))
  spec.run(ts.map((t) => backend.data.get(t.dataId).values as Float32Array), arrays, params.attrs ?? {})
  const outs = shapes.map((shape, i) => backend.makeTensorInfo(shape, "float32", arrays[i]!))
  return outs.length === 1 ? outs[0]! : outs
}

/** Registers the kernel on the wasm and cpu backends (idempotent). */
export const install = (spec: Spec): void => {
  if (tf.getKernel(spec.name, "wasm") === undefined) tf.registerKernel({ kernelName: spec.name, backendName: "wasm", kernelFunc: wasmKernel(spec) })
  if (tf.getKernel(spec.name, "cpu") === undefined) tf.registerKernel({ kernelName: spec.name, backendName: "cpu", kernelFunc: cpuKernel(spec) })
}

/** Whether the current backend has the kernel. */
export const available = (name: string): boolean => tf.getKernel(name, tf.getBackend()) !== undefined
