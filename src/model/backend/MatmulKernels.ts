import * as tf from "@tensorflow/tfjs"
import * as BatchPlan from "./BatchPlan.ts"
import * as SimdTranspose from "./SimdTranspose.ts"
import * as Wasm from "./WasmInternals.ts"

/**
 * Replacement `BatchMatMul` and `_FusedMatMul` kernels for the wasm backend.
 *
 * Stock tfjs-backend-wasm multiplies with XNNPACK (~40 GFLOP/s a thread) only when neither input is transposed
 * and both batches are 1; every other product (all gradients, all attention matmuls) runs a scalar loop at
 * ~3 GFLOP/s, and its fused form adds the bias (and clamps relu) once per 48-wide block of the inner dimension
 * from the wrong index: wrong values whenever an input is transposed or batched. These kernels
 *   1. plan the product as 2-D calls (`BatchPlan`: a broadcast batch folds into rows, true batches split),
 *   2. materialise transposes (a tiled copy over the heap) when the 2-D multiply cannot take them,
 *   3. run each call through the registered `Gemm` (XNNPACK by default; OpenBLAS registers itself),
 *   4. for `_FusedMatMul`, add the bias and apply the activation with the wasm `Add` and activation kernels,
 * and fall back to the stock kernel only for what they do not handle (non-float32 inputs, shapes that do not
 * multiply: the stock kernel then raises tfjs's own error). The stock fused kernel is used for one case only, the
 * plain 2-D product with a rank-1 bias under XNNPACK, which it computes correctly (tests pin this).
 *
 * ## Registering a 2-D multiply (the hook OpenBLAS uses)
 * `register({ path: "openblas", transposes: true, gemm2d })` makes every later matmul on the wasm backend call
 * `gemm2d` for its 2-D products; `unregister()` returns to XNNPACK. `gemm2d` receives byte offsets into the wasm
 * heap (row-major operands, no copies): it must write C = op(A)·op(B) (m×n) over C's bytes. With
 * `transposes: false` it is only ever called with both transposes false (the kernel materialises them).
 */

/** Which 2-D multiply the wasm matmul kernels reach: a native BLAS, XNNPACK through the replacements, or tfjs's own. */
export type MatmulPath = "openblas" | "xnnpack" | "stock"

/** One 2-D product for a registered multiply: C (m×n) = op(A) · op(B), all row-major in the wasm heap. */
export interface Gemm2dCall {
  /** The wasm heap the offsets point into (read at call time: the heap may have grown since the last call). */
  readonly heap: ArrayBufferLike
  readonly m: number
  readonly n: number
  readonly k: number
  /** A is stored k×m (B n×k) when transposed. */
  readonly transposeA: boolean
  readonly transposeB: boolean
  /** Byte offsets of A, B and C in the heap; C is overwritten. */
  readonly a: number
  readonly b: number
  readonly c: number
  /**
   * The wasm tensor ids of A, B and C when the operand is a whole tensor, else undefined. XNNPACK caches
   * its packed copy of B by B's id; a BLAS can ignore them.
   */
  readonly ids: { readonly a: number | undefined; readonly b: number | undefined; readonly c: number | undefined }
}

/** A 2-D multiply for the wasm matmul kernels. */
export interface Gemm {
  readonly path: Exclude<MatmulPath, "stock">
  /** Whether `gemm2d` takes transposed operands itself (else transposes are materialised before it is called). */
  readonly transposes: boolean
  readonly gemm2d: (call: Gemm2dCall) => void
}

let registered: Gemm | undefined
let originals: { readonly batchMatMul: tf.KernelConfig; readonly fusedMatMul: tf.KernelConfig } | undefined

/** Makes `gemm` the 2-D multiply of the wasm matmul kernels (the kernels must be installed to use it). */
export const register = (gemm: Gemm): void => {
  registered = gemm
}

/** Returns the wasm matmul kernels to XNNPACK. */
export const unregister = (): void => {
  registered = undefined
}

/** The matmul path in use on the wasm backend now. */
export const path = (): MatmulPath => (originals === undefined ? "stock" : registered?.path ?? "xnnpack")

// ---------------------------------------------------------------------------------------------------------------
// XNNPACK through the wasm module's own BatchMatMul entry point, which takes its XNNPACK path exactly when it
// gets untransposed rank-3 operands with batch 1.

const xnnpackByModule = new WeakMap<Wasm.Module, Gemm>()

const xnnpack = (backend: Wasm.Backend): Gemm => {
  const cached = xnnpackByModule.get(backend.wasm)
  if (cached !== undefined) return cached
  const batchMatMul = backend.wasm.cwrap("BatchMatMul", null, [
    "number", // a id
    "array", // a shape
    "number", // a rank
    "number", // b id
    "array", // b shape
    "number", // b rank
    "number", // transpose a
    "number", // transpose b
    "number" // out id
  ])
  const gemm: Gemm = {
    path: "xnnpack",
    transposes: false,
    gemm2d: (call) => {
      const { k, m, n } = call
      const aId = call.ids.a ?? Wasm.view(backend, call.a, m * k)
      const bId = call.ids.b ?? Wasm.view(backend, call.b, k * n)
      const cId = call.ids.c ?? Wasm.view(backend, call.c, m * n)
      batchMatMul(aId, Wasm.shapeBytes([1, m, k]), 3, bId, Wasm.shapeBytes([1, k, n]), 3, false, false, cId)
      if (call.ids.a === undefined) Wasm.releaseView(backend, aId)
      if (call.ids.b === undefined) Wasm.releaseView(backend, bId)
      if (call.ids.c === undefined) Wasm.releaseView(backend, cId)
    }
  }
  xnnpackByModule.set(backend.wasm, gemm)
  return gemm
}

const current = (backend: Wasm.Backend): Gemm => registered ?? xnnpack(backend)

// ---------------------------------------------------------------------------------------------------------------

const run = (kernelName: string, params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo => {
  const config = tf.getKernel(kernelName, "wasm")
  if (config === undefined) throw new Error(`wasm backend has no ${kernelName} kernel`)
  return config.kernelFunc(params) as tf.TensorInfo
}

/** Side of the square tiles the JS transpose copies through (8 floats: one 32-byte line each way; measured best). */
const tile = 8

/**
 * A's (or B's) matrices transposed into a new tensor: `[batch, rows, cols]` -> `[batch, cols, rows]`. In wasm SIMD
 * over the heap (SimdTranspose.ts) where the runtime has it, else a tiled copy in JS (3-5x faster than the wasm
 * Transpose kernel on these shapes, 2.3 ms against 5.3 ms for 2048×256; the SIMD copy is 4-11x faster again).
 */
const transposed = (backend: Wasm.Backend, x: tf.TensorInfo): tf.TensorInfo => {
  const r = x.shape.length
  const rows = x.shape[r - 2]
  const cols = x.shape[r - 1]
  const batch = x.shape.slice(0, -2).reduce((p, d) => p * d, 1)
  const out = backend.makeOutput([...x.shape.slice(0, -2), cols, rows], "float32")
  const from = Wasm.dataOf(backend, x).memoryOffset
  const to = Wasm.dataOf(backend, out).memoryOffset
  const memory = Wasm.memory(backend)
  const simd = memory === undefined ? undefined : SimdTranspose.forMemory(memory)
  if (simd !== undefined) {
    for (let b = 0, o = 0; b < batch; b++, o += 4 * rows * cols) simd(from + o, to + o, rows, cols)
    return out
  }
  // Views after the allocation: it may have grown (and replaced) the heap.
  const heap = Wasm.heap(backend) as ArrayBuffer
  const src = new Float32Array(heap, from, batch * rows * cols)
  const dst = new Float32Array(heap, to, batch * rows * cols)
  for (let b = 0, o = 0; b < batch; b++, o += rows * cols) {
    for (let i0 = 0; i0 < rows; i0 += tile) {
      const i1 = Math.min(i0 + tile, rows)
      for (let j0 = 0; j0 < cols; j0 += tile) {
        const j1 = Math.min(j0 + tile, cols)
        for (let i = i0; i < i1; i++) {
          const row = o + i * cols
          for (let j = j0; j < j1; j++) dst[o + j * rows + i] = src[row + j]
        }
      }
    }
  }
  return out
}

/** What XNNPACK's packing of a fresh right operand costs a float, in SIMD transposes of a float (measured ~4 against ~0.2-0.5 ns; taken low). */
const packingCost = 8

/**
 * Whether `op(A) · op(B)` is cheaper as `(op(B)^T · op(A)^T)^T`. XNNPACK packs its right operand anew for every
 * product with a fresh one, a view or a transpose just made (~4 ns a float: 8.8 ms against 6.0 ms with the packing
 * cached, for a 1292×512 operand), while a SIMD transpose costs ~0.2-0.5 ns a float. So the narrower operand should be
 * on the right: the flipped product packs k·m floats instead of k·n, transposes each operand that is not stored the
 * way its new side wants and the m×n result. A variable on the right, untransposed (a weight: `weight`), stays: XNNPACK
 * keeps its packing while the variable's data lives (every token of a decode). Equal batches only (the folded form of
 * a broadcast B stays). Cases: weight gradients with more outputs than inputs (the MLP's first layer, T 1292, 128 -> 512:
 * 8.1 -> 6.4 ms a layer, one thread), attention's key gradient q^T·dS (4.5 -> 3.1 ms a layer), and in decoding the
 * queries of a few rows against the cached keys and values of a long prefix, and the tied LM head (16 rows × 128 against
 * 1024 × 128 stored transposed).
 */
export const flips = (
  a: ReadonlyArray<number>,
  b: ReadonlyArray<number>,
  transposeA: boolean,
  transposeB: boolean,
  weight: boolean | (() => boolean) = false // whether B is a variable's data (asked only when the cost rule would flip)
): boolean => {
  const r = a.length
  if (b.length !== r || r < 2 || a.some((d, i) => i < r - 2 && d !== b[i])) return false
  const m = transposeA ? a[r - 1]! : a[r - 2]!
  const k = transposeA ? a[r - 2]! : a[r - 1]!
  const n = transposeB ? b[r - 2]! : b[r - 1]!
  const direct = packingCost * k * n + (transposeA ? k * m : 0) + (transposeB ? k * n : 0)
  const flipped = packingCost * k * m + (transposeB ? 0 : k * n) + (transposeA ? 0 : k * m) + m * n
  return flipped < direct && (transposeB || !(typeof weight === "function" ? weight() : weight))
}

/** Whether `x` is the data of a tfjs variable (a few hundred at most: a model's weights and their Adam moments). */
const isVariable = (x: tf.TensorInfo): boolean => {
  const variables = tf.engine().state.registeredVariables
  for (const name in variables) if (variables[name]!.dataId === x.dataId) return true
  return false
}

/**
 * op(a) · op(b) as a new float32 tensor through 2-D calls, or undefined when the kernels leave it to the stock one
 * (non-float32 inputs, shapes that do not multiply).
 */
export const product = (
  backendArg: unknown,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean
): tf.TensorInfo | undefined => {
  if (a.dtype !== "float32" || b.dtype !== "float32") return undefined
  const backend = Wasm.of(backendArg)
  const gemm = current(backend)
  const materialise = !gemm.transposes
  if (materialise && flips(a.shape, b.shape, transposeA, transposeB, () => isVariable(b))) {
    const flipped = product(backend, b, a, !transposeB, !transposeA)
    if (flipped === undefined) return undefined
    const out = transposed(backend, flipped)
    backend.disposeData(flipped.dataId)
    return out
  }
  const plan = BatchPlan.plan(a.shape, b.shape, transposeA, transposeB, transposeA && !materialise)
  if (plan === undefined) return undefined
  const out = backend.makeOutput([...plan.outShape], "float32")
  const { k, n } = plan
  if (plan.calls.length === 0 || plan.m * n === 0) return out
  if (k === 0) {
    const o = Wasm.dataOf(backend, out)
    new Float32Array(Wasm.heap(backend), o.memoryOffset, plan.batchOut * plan.m * n).fill(0)
    return out
  }
  const aT = transposeA && materialise ? transposed(backend, a) : undefined
  const bT = transposeB && materialise ? transposed(backend, b) : undefined
  const aData = Wasm.dataOf(backend, aT ?? a)
  const bData = Wasm.dataOf(backend, bT ?? b)
  const cData = Wasm.dataOf(backend, out)
  const ta = transposeA && !materialise
  const tb = transposeB && !materialise
  for (const call of plan.calls) {
    gemm.gemm2d({
      heap: Wasm.heap(backend),
      m: call.m,
      n,
      k,
      transposeA: ta,
      transposeB: tb,
      a: aData.memoryOffset + 4 * call.a,
      b: bData.memoryOffset + 4 * call.b,
      c: cData.memoryOffset + 4 * call.c,
      ids: {
        a: call.wholeA ? aData.id : undefined,
        b: call.wholeB ? bData.id : undefined,
        c: call.wholeC ? cData.id : undefined
      }
    })
  }
  if (aT !== undefined) backend.disposeData(aT.dataId)
  if (bT !== undefined) backend.disposeData(bT.dataId)
  return out
}

interface MatMulAttrs {
  readonly transposeA?: boolean
  readonly transposeB?: boolean
  readonly activation?: string
  readonly leakyreluAlpha?: number
}

const attrsOf = (attrs: tf.NamedAttrMap | undefined): MatMulAttrs => (attrs ?? {}) as MatMulAttrs

const originalsOrThrow = () => {
  if (originals === undefined) throw new Error("wasm matmul kernels are not installed")
  return originals
}

const batchMatMul: tf.KernelFunc = (params) => {
  const { a, b } = params.inputs as { a: tf.TensorInfo; b: tf.TensorInfo }
  const attrs = attrsOf(params.attrs)
  const out = product(params.backend, a, b, attrs.transposeA === true, attrs.transposeB === true)
  return out ?? originalsOrThrow().batchMatMul.kernelFunc(params)
}

/** The wasm kernel that applies a fused activation to x, or undefined for "linear". */
const activate = (
  backend: Wasm.Backend,
  x: tf.TensorInfo,
  activation: string,
  alpha: number,
  prelu: tf.TensorInfo | undefined
): tf.TensorInfo | undefined => {
  switch (activation) {
    case "linear":
      return undefined
    case "relu":
      return run("Relu", { inputs: { x }, backend })
    case "relu6":
      return run("Relu6", { inputs: { x }, backend })
    case "elu":
      return run("Elu", { inputs: { x }, backend })
    case "sigmoid":
      return run("Sigmoid", { inputs: { x }, backend })
    case "leakyrelu":
      return run("LeakyRelu", { inputs: { x }, backend, attrs: { alpha } })
    case "prelu":
      if (prelu === undefined) throw new Error("_FusedMatMul: prelu activation without its weights")
      return run("Prelu", { inputs: { x, alpha: prelu }, backend })
    default:
      throw new Error(`_FusedMatMul: activation ${activation} is not supported on wasm`)
  }
}

const fusedMatMul: tf.KernelFunc = (params) => {
  const { a, b, bias, preluActivationWeights } = params.inputs as {
    a: tf.TensorInfo
    b: tf.TensorInfo
    bias?: tf.TensorInfo
    preluActivationWeights?: tf.TensorInfo
  }
  const attrs = attrsOf(params.attrs)
  const transposeA = attrs.transposeA === true
  const transposeB = attrs.transposeB === true
  const backend = Wasm.of(params.backend)
  const stock = originalsOrThrow().fusedMatMul
  const batchA = a.shape.slice(0, -2).reduce((p, d) => p * d, 1)
  const batchB = b.shape.slice(0, -2).reduce((p, d) => p * d, 1)
  const plain2d = !transposeA && !transposeB && batchA === 1 && batchB === 1
  // The one case the stock kernel gets right: XNNPACK fuses the bias and the activation itself.
  if (plain2d && current(backend).path === "xnnpack" && (bias === undefined || bias.shape.length === 1)) {
    return stock.kernelFunc(params)
  }
  const prod = product(backend, a, b, transposeA, transposeB)
  if (prod === undefined) return stock.kernelFunc(params)
  let out = prod
  if (bias !== undefined) {
    const added = run("Add", { inputs: { a: out, b: bias }, backend })
    backend.disposeData(out.dataId)
    out = added
  }
  // Defaults: tfjs's own for a fused matmul (no activation; leaky relu's alpha 0.2).
  const activated = activate(backend, out, attrs.activation ?? "linear", attrs.leakyreluAlpha ?? 0.2, preluActivationWeights)
  if (activated !== undefined) {
    backend.disposeData(out.dataId)
    out = activated
  }
  return out
}

/** Replaces the wasm backend's `BatchMatMul` and `_FusedMatMul` (idempotent). */
export const install = (): void => {
  if (originals !== undefined) return
  const batch = tf.getKernel(tf.BatchMatMul, "wasm")
  const fused = tf.getKernel(tf._FusedMatMul, "wasm")
  if (batch === undefined || fused === undefined) throw new Error("the wasm backend's matmul kernels are not registered")
  originals = { batchMatMul: batch, fusedMatMul: fused }
  tf.unregisterKernel(tf.BatchMatMul, "wasm")
  tf.unregisterKernel(tf._FusedMatMul, "wasm")
  // The stock kernels' setup (their cwrap) still runs when a wasm backend starts: the fallbacks need it.
  tf.registerKernel({ ...batch, kernelFunc: batchMatMul })
  tf.registerKernel({ ...fused, kernelFunc: fusedMatMul })
}

/** Puts the stock kernels back (idempotent). */
export const uninstall = (): void => {
  if (originals === undefined) return
  tf.unregisterKernel(tf.BatchMatMul, "wasm")
  tf.unregisterKernel(tf._FusedMatMul, "wasm")
  tf.registerKernel(originals.batchMatMul)
  tf.registerKernel(originals.fusedMatMul)
  originals = undefined
}
