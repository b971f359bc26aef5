import { createRequire } from "node:module"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import type * as MatmulKernels from "./MatmulKernels.ts"
import * as OpenBlasSum from "./OpenBlasSum.ts"

/**
 * OpenBLAS as the 2-D multiply of the wasm backend's matmul kernels. The addon (packages/openblas-matmul, an
 * optional dependency built by node-gyp against libopenblas-dev) runs `cblas_sgemm` on the wasm heap in place:
 * the kernels hand over byte offsets of A, B and C, OpenBLAS reads and writes those bytes, nothing is copied.
 * Transposed operands go to BLAS as they are (`transposes: true`), so no Transpose kernel runs before a product.
 *
 * This is the module TfjsInit loads (`load(threads)`, the `OpenBlasModule` contract): it returns the multiply
 * to register, or a one-line reason why OpenBLAS is unavailable, which becomes the fallback notice. Loading also
 * puts the addon under the wasm `Sum` kernel for sums over leading axes (OpenBlasSum: bias and LayerNorm gradients).
 */

/** What the addon exports (packages/openblas-matmul/index.d.ts, restated so that this file type-checks without it). */
export interface Addon {
  readonly sgemm: (
    memory: ArrayBufferLike | ArrayBufferView,
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    beta: number,
    c: number,
    ldc: number,
    batch?: number,
    strideA?: number,
    strideB?: number,
    strideC?: number
  ) => void
  readonly sumRows: OpenBlasSum.SumRows["sumRows"]
  readonly setThreads: (threads: number) => void
  readonly getThreads: () => number
  readonly config: () => string
}

/** The addon's package name (root package.json lists it under optionalDependencies). */
export const packageName = "@stepagent/openblas-matmul"

/**
 * Where to load the addon from instead of the package (a path or package name): for diagnosis, and to check the
 * fallback on a machine that has the addon (`STEPAGENT_OPENBLAS_ADDON=/nowhere stepagent backend`).
 */
export const addonVariable = "STEPAGENT_OPENBLAS_ADDON"

/** What a user does to get the fast path (the tail of every "unavailable" reason). */
const remedy = "install libopenblas-dev, then run npm ci (docs/openblas.md)"

const require = createRequire(import.meta.url)

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? ""

const isAddon = (x: unknown): x is Addon => {
  if (typeof x !== "object" || x === null) return false
  const o = x as Record<string, unknown>
  return typeof o["sgemm"] === "function" && typeof o["sumRows"] === "function" && typeof o["setThreads"] === "function" &&
    typeof o["getThreads"] === "function" && typeof o["config"] === "function"
}

/**
 * Checks the addon on a 2×2 product (a library that loads but computes wrong, e.g. a mismatched libblas, must not
 * become the matmul path): undefined when it is right, else the reason.
 */
const selfTest = (addon: Addon): string | undefined => {
  const heap = new Float32Array(16)
  heap.set([1, 2, 3, 4], 0) // A (2×2)
  heap.set([5, 6, 7, 8], 4) // B (2×2)
  heap.fill(Number.NaN, 8, 12) // C, overwritten with beta 0
  addon.sgemm(heap.buffer, false, false, 2, 2, 2, 1, 0, 2, 16, 2, 0, 32, 2)
  const c = Array.from(heap.subarray(8, 12))
  if (c.join() !== "19,22,43,50") return `OpenBLAS computed a 2x2 product wrong (${c.join(", ")})`
  addon.sumRows(heap.buffer, 2, 2, 0, 48) // column sums of A
  const s = Array.from(heap.subarray(12, 14))
  return s.join() === "4,6" ? undefined : `OpenBLAS matmul addon summed columns wrong (${s.join(", ")})`
}

// Where Debian, Fedora and source builds put OpenBLAS's C header (binding.gyp compiles against cblas.h).
export const cblasHeaders = ["/usr/include/cblas.h", "/usr/include/x86_64-linux-gnu/cblas.h", "/usr/include/aarch64-linux-gnu/cblas.h", "/usr/include/openblas/cblas.h", "/usr/local/include/cblas.h"]

/**
 * Why the package is there but its binary is not: OpenBLAS's headers absent (the build could not
 * compile), the install script never run (npm's `ignore-scripts`, or an `allowScripts` list that does
 * not cover it: node-gyp leaves no build/ directory), or the build tried and failed. Undefined when the
 * package directory cannot be found.
 */
const whyNotBuilt = (specifier: string): string | undefined => {
  let dir: string
  try {
    dir = NodePath.dirname(require.resolve(`${specifier}/package.json`))
  } catch {
    return undefined
  }
  if (!cblasHeaders.some((h) => NodeFs.existsSync(h))) return `OpenBLAS's headers (cblas.h) are not installed; ${remedy}`
  if (!NodeFs.existsSync(NodePath.join(dir, "build"))) {
    return "its install script never ran (npm's ignore-scripts, or allowScripts in package.json not covering it: `npm install-scripts ls` lists it); run npm rebuild @stepagent/openblas-matmul"
  }
  return `its build failed although the headers are present; run npm rebuild @stepagent/openblas-matmul --foreground-scripts to see why`
}

/**
 * The addon, or a one-line reason it cannot be used (not installed, not built, OpenBLAS's library missing, wrong
 * results). `specifier` is what to `require` (default: the package; tests point it at a broken one).
 */
export const loadAddon = (specifier: string = packageName): Addon | string => {
  let loaded: unknown
  try {
    loaded = require(specifier)
  } catch (e) {
    const code = typeof e === "object" && e !== null && "code" in e ? (e as { code: unknown }).code : undefined
    const missing = code === "MODULE_NOT_FOUND" && firstLine(e).includes(specifier)
    if (missing) return `OpenBLAS matmul addon not installed (${specifier}); ${remedy}`
    const why = firstLine(e)
    const unbuilt = why.includes("is not built") ? whyNotBuilt(specifier) : undefined
    if (unbuilt !== undefined) return `OpenBLAS matmul addon is not built: ${unbuilt}`
    return `OpenBLAS matmul addon does not load: ${why}${why.includes("libopenblas-dev") ? "" : `; ${remedy}`}`
  }
  if (!isAddon(loaded)) return `OpenBLAS matmul addon ${specifier} does not export sgemm/sumRows/setThreads/getThreads/config`
  let wrong: string | undefined
  try {
    wrong = selfTest(loaded)
  } catch (e) {
    wrong = `OpenBLAS matmul addon failed its self-test: ${firstLine(e)}`
  }
  return wrong ?? loaded
}

/** A byte view over a SharedArrayBuffer heap (the addon takes ArrayBuffers or views), made once per heap buffer. */
const sharedViews = new WeakMap<SharedArrayBuffer, Uint8Array>()

const memoryOf = (heap: ArrayBufferLike): ArrayBuffer | Uint8Array => {
  if (heap instanceof ArrayBuffer) return heap
  let view = sharedViews.get(heap)
  if (view === undefined) {
    view = new Uint8Array(heap)
    sharedViews.set(heap, view)
  }
  return view
}

/**
 * The 2-D multiply for the wasm matmul kernels: C = op(A)·op(B), all row-major and contiguous, so the leading
 * dimensions are the stored widths (A: k, or m when transposed; B: n, or k when transposed; C: n).
 */
export const gemmOf = (addon: Addon): MatmulKernels.Gemm => ({
  path: "openblas",
  transposes: true,
  gemm2d: (call) => {
    const { m, n, k } = call
    const lda = Math.max(1, call.transposeA ? m : k)
    const ldb = Math.max(1, call.transposeB ? k : n)
    addon.sgemm(memoryOf(call.heap), call.transposeA, call.transposeB, m, n, k, 1, call.a, lda, call.b, ldb, 0, call.c, Math.max(1, n))
  }
})

let active: Addon | undefined

/**
 * Loads the addon with `threads` BLAS threads and returns the multiply to register, or why it is unavailable.
 * OpenBLAS then owns the threads: the caller keeps wasm single-threaded (TfjsInit does). Also installs the
 * OpenBlasSum kernel on wasm (needs @tensorflow/tfjs-backend-wasm imported, as TfjsInit does).
 */
export const load = async (
  threads: number,
  specifier: string = process.env[addonVariable] || packageName // default: the variable when set, else the package
): Promise<MatmulKernels.Gemm | string> => {
  const addon = loadAddon(specifier)
  if (typeof addon === "string") return addon
  try {
    addon.setThreads(threads)
  } catch (e) {
    return `OpenBLAS matmul addon rejected ${threads} threads: ${firstLine(e)}`
  }
  active = addon
  OpenBlasSum.install(addon)
  return gemmOf(addon)
}

/** Sets the BLAS thread count of the loaded addon (no-op before `load`). Never run it beside threaded wasm. */
export const setThreads = (threads: number): void => {
  active?.setThreads(threads)
}

/** The BLAS thread count in use, 0 when the addon is not loaded. */
export const threads = (): number => active?.getThreads() ?? 0

/** OpenBLAS's build configuration and core type, when loaded (e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... (Haswell)"). */
export const config = (): string | undefined => active?.config()
