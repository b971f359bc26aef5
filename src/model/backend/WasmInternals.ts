import type * as tf from "@tensorflow/tfjs"

/**
 * The parts of tfjs-backend-wasm's `BackendWasm` and of its emscripten module that the replacement kernels use.
 * The package types some of them as private, so they are described here structurally, once, and reached through
 * `of` (the one unchecked view of a kernel's `backend` argument in this directory).
 */

/** What the C++ side of the backend knows about a tensor: its id, and where its bytes live in the heap. */
export interface TensorData {
  readonly id: number
  readonly memoryOffset: number
  readonly shape: ReadonlyArray<number>
  readonly dtype: tf.DataType
  refCount: number
}

/** A function wrapped by emscripten's `cwrap`: numbers, booleans and byte arrays (copied to the wasm stack) in. */
export type Wrapped = (...args: ReadonlyArray<number | boolean | Uint8Array>) => unknown

/** The emscripten module of the wasm backend (single-threaded or threaded build). */
export interface Module {
  readonly HEAPU8: Uint8Array
  /** The threaded build exports its shared memory: read `.buffer` from it, since the heap can grow. */
  readonly wasmMemory?: { readonly buffer: ArrayBufferLike }
  /** The module's exports; the single-threaded build exports its memory here. */
  readonly asm?: { readonly memory?: unknown }
  readonly cwrap: (name: string, returnType: null | "number", argTypes: ReadonlyArray<"number" | "array">) => Wrapped
  readonly _malloc: (bytes: number) => number
  readonly _free: (offset: number) => void
  readonly tfjs: {
    readonly registerTensor: (id: number, size: number, memoryOffset: number) => void
    readonly disposeData: (id: number) => void
  }
}

/** The backend object that tfjs passes to wasm kernels. */
export interface Backend {
  readonly wasm: Module
  dataIdNextNumber: number
  readonly dataIdMap: { readonly get: (dataId: tf.DataId) => TensorData | undefined }
  readonly makeOutput: (shape: Array<number>, dtype: tf.DataType, memoryOffset?: number) => tf.TensorInfo
  readonly disposeData: (dataId: tf.DataId, force?: boolean) => boolean
  /** One more tensor shares this data (freed when the last one is disposed). */
  readonly incRef: (dataId: tf.DataId) => void
}

/** The wasm backend behind a kernel's `backend` argument. */
export const of = (backend: unknown): Backend => backend as Backend

/** The heap as it is now (it may have grown, and been replaced, since the last allocation). */
export const heap = (backend: Backend): ArrayBufferLike => backend.wasm.wasmMemory?.buffer ?? backend.wasm.HEAPU8.buffer

/** A WebAssembly.Memory: its buffer is the heap (replaced when the memory grows). */
export interface Memory {
  readonly buffer: ArrayBufferLike
}

/** The WebAssembly API the kernels use (Node has it; the project's type libraries, es2024 without dom, do not declare it). */
export interface WebAssemblyApi {
  readonly Memory: new (descriptor: { readonly initial: number; readonly maximum?: number; readonly shared?: boolean }) => Memory
  readonly Module: new (bytes: Uint8Array) => object
  readonly Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
  readonly validate: (bytes: Uint8Array) => boolean
  readonly instantiate: (bytes: Uint8Array, imports: object) => Promise<{ readonly instance: object; readonly module: object }>
}

export const webAssembly = (globalThis as unknown as { readonly WebAssembly: WebAssemblyApi }).WebAssembly

/** The heap's WebAssembly.Memory (for a module that imports it), or undefined if the build hides it. */
export const memory = (backend: Backend): Memory | undefined => {
  const m: unknown = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory
  return m instanceof webAssembly.Memory ? m : undefined
}

/** The C++ tensor id and heap byte offset of a tensor. */
export const dataOf = (backend: Backend, info: tf.TensorInfo): TensorData => {
  const data = backend.dataIdMap.get(info.dataId)
  if (data === undefined) throw new Error("wasm kernel: a tensor input is not on the wasm backend")
  return data
}

/**
 * A temporary C++ tensor id for `size` floats at `offset` (a view into a tensor, no copy). Release it with
 * `releaseView`, never with `disposeData`: the bytes belong to the tensor the view looks into.
 */
export const view = (backend: Backend, offset: number, size: number): number => {
  const id = backend.dataIdNextNumber++
  backend.wasm.tfjs.registerTensor(id, size, offset)
  return id
}

/** Forgets a view's id (runs the C++ disposal callbacks, e.g. XNNPACK's operator cache for it) without freeing bytes. */
export const releaseView = (backend: Backend, id: number): void => backend.wasm.tfjs.disposeData(id)

/** Int32 shape as bytes, the way the C++ kernels take shapes. */
export const shapeBytes = (shape: ReadonlyArray<number>): Uint8Array => new Uint8Array(new Int32Array(shape).buffer)
