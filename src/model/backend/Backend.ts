import { Context, Effect, Layer } from "effect"
import type { BackendError } from "./BackendError.ts"
import type * as BackendOptions from "./BackendOptions.ts"
import * as TfjsInit from "./TfjsInit.ts"

/**
 * The tensor backend as a service: which TensorFlow.js backend runs (`tensorflow-gpu`, `tensorflow`, `wasm`,
 * `cpu`), which 2-D multiply the wasm matmuls reach (`openblas`, `xnnpack`, `stock`) and the threads in use.
 * Building the layer starts tfjs (once per process, see `TfjsInit`) and logs the choice; a run records `info`.
 * Code that computes with tensors depends on this service so that tfjs is started before it runs.
 */
/**
 * What decides a computation's numbers: the backend, its matmul path, and with OpenBLAS its thread count (`numerics`).
 * A cluster unit carries the learner's and a worker refuses it when its own differs.
 */
export const numericsKey = (info: Pick<TfjsInit.Info, "name" | "matmul" | "threads">): string =>
  info.name === "wasm" && info.matmul === "openblas" ? `${info.name}/${info.matmul}/${info.threads.blas}` : `${info.name}/${info.matmul}`

export class Backend extends Context.Service<Backend, TfjsInit.Info>()("stepagent/Backend") {}

/** One line describing the running backend, for logs and run records. */
export const describe = (info: TfjsInit.Info): string => {
  const t = info.threads
  const threads = info.name === "wasm"
    ? t.blas > 0 ? `wasm 1 thread + OpenBLAS ${t.blas} threads` : `${t.wasm} wasm thread${t.wasm === 1 ? "" : "s"}`
    : info.name === "cpu"
    ? "1 JS thread"
    : `${t.tensorflow} TensorFlow threads`
  return `tensor backend ${info.name} (matmul ${info.matmul}, ${threads})`
}

/**
 * The part of a backend's description (`describe`) that decides its numbers. On wasm with XNNPACK the thread count is
 * left out: XNNPACK splits a matrix product between threads by tiles of the output, never along the summed dimension,
 * and tfjs's other wasm kernels run on one thread, so every value is computed in the same order whatever the count
 * (measured: the quickstart's 840 SFT steps, StepAgent iteration and 250 episodes gave the same results on one and two
 * XNNPACK threads; a test resumes a one-thread run on two). OpenBLAS's count stays: its threaded driver cuts the
 * summed dimension into blocks differently from its one-thread driver when a block is between one and two of its
 * panel depths (e.g. 766 = 383 + 383 threaded, 384 + 382 on one thread), so one and two threads can differ in the
 * last bits (measured on an Intel Xeon with AVX-512: ten qa SFT steps, other losses on 1 and 2 OpenBLAS threads).
 * TensorFlow's threads may split a reduction, so there the count stays too.
 */
export const numerics = (description: string): string => {
  const wasm = /^tensor backend wasm \(matmul (\w+), ([^)]*)\)$/.exec(description)
  if (wasm === null) return description
  const blas = /OpenBLAS (\d+) threads?/.exec(wasm[2]!)
  return `tensor backend wasm (matmul ${wasm[1]!}${blas === null ? "" : `, OpenBLAS ${blas[1]!} threads`})`
}

/**
 * Starts tfjs as `options` ask (a flag wins over STEPAGENT_BACKEND / STEPAGENT_THREADS / STEPAGENT_MATMUL,
 * which win over auto and all cores) and provides the running backend.
 */
export const layer = (options: BackendOptions.Options = {}): Layer.Layer<Backend, BackendError> =>
  Layer.effect(
    Backend,
    Effect.gen(function*() {
      const info = yield* TfjsInit.initialise(options)
      yield* Effect.logInfo(describe(info))
      for (const notice of info.notices) yield* Effect.logWarning(notice)
      return info
    })
  )

/**
 * For tests: wasm on one thread with the XNNPACK kernels: the path users run without a GPU, deterministic
 * (one thread sums in a fixed order) and fast enough for tiny models.
 */
export const layerTest: Layer.Layer<Backend, BackendError> = Layer.effect(
  Backend,
  TfjsInit.initialise({ backend: "wasm", threads: 1, matmul: "xnnpack" }, {})
)
