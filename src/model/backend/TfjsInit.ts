import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import { Effect } from "effect"
import { BackendError } from "./BackendError.ts"
import * as BackendOptions from "./BackendOptions.ts"
import type { BackendName } from "./BackendOptions.ts"
import * as Gather from "./Gather.ts"
import * as LeadingSum from "./LeadingSum.ts"
import * as MatmulKernels from "./MatmulKernels.ts"
import * as SharedIdentity from "./SharedIdentity.ts"
import * as StridedSlice from "./StridedSlice.ts"
import * as TensorflowNode from "./TensorflowNode.ts"
import * as UnsortedSegmentSum from "./UnsortedSegmentSum.ts"
import * as WasmThreaded from "./WasmThreaded.ts"

/**
 * Starting TensorFlow.js, exactly once per process (its backend, kernel registry and tensors are global state).
 * The first `initialise` picks and starts a backend; later calls get the same `Info`, unless they explicitly ask
 * for something else, which fails with a `Conflict`.
 *
 * `auto` tries, in order: tensorflow-gpu (@tensorflow/tfjs-node-gpu loads and TensorFlow sees a GPU), tensorflow
 * (the GPU package on the CPU if it loaded, else @tensorflow/tfjs-node), wasm, cpu. On wasm, the replacement
 * kernels go in (UnsortedSegmentSum always; BatchMatMul, _FusedMatMul, Sum, Identity, Cast, GatherV2, Slice and SplitV unless
 * matmul is `stock`), then either
 * OpenBLAS takes the matmuls with all the threads (wasm itself single-threaded), or, without OpenBLAS and with
 * more than one thread, the threaded wasm build runs XNNPACK on all of them. Never both.
 */

/** Threads in use: asked for, in the wasm pool, in OpenBLAS, in TensorFlow's intra-op pool (0: not in use). */
export interface Threads {
  readonly requested: number
  readonly wasm: number
  readonly blas: number
  readonly tensorflow: number
}

/** The running backend. */
export interface Info {
  readonly name: BackendName
  /** tfjs's own name for it (`tensorflow`, `wasm`, `cpu`). */
  readonly tfjs: string
  readonly matmul: MatmulKernels.MatmulPath
  readonly threads: Threads
  /** Fallbacks taken on the way (one line each), e.g. threaded wasm failing to start. */
  readonly notices: ReadonlyArray<string>
}

/**
 * The contract of src/model/backend/OpenBlas.ts (optional: stepagent runs without it). `load` starts the
 * OpenBLAS addon with `threads` BLAS threads and returns the 2-D multiply to register, or a one-line reason why
 * it is unavailable (addon not built, library missing).
 */
export interface OpenBlasModule {
  readonly load: (threads: number) => Promise<MatmulKernels.Gemm | string>
}

const openBlasModule = new URL("./OpenBlas.ts", import.meta.url).href

/** Loads the OpenBLAS multiply, or says why not. */
const loadOpenBlas = async (threads: number): Promise<MatmulKernels.Gemm | string> => {
  let module: unknown
  try {
    module = await import(openBlasModule)
  } catch (e) {
    const code = typeof e === "object" && e !== null && "code" in e ? (e as { code: unknown }).code : undefined
    if (code === "ERR_MODULE_NOT_FOUND") return "the OpenBLAS kernels are not part of this build"
    return `the OpenBLAS kernels do not load: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`
  }
  const load = (module as Partial<OpenBlasModule>).load
  if (typeof load !== "function") return "src/model/backend/OpenBlas.ts does not export load(threads)"
  return load(threads)
}

const fail = (reason: BackendError["reason"], backend: string, message: string) => new BackendError({ reason, backend, message })

const setBackend = (name: string): Effect.Effect<void, BackendError> =>
  Effect.tryPromise({
    try: () => tf.setBackend(name),
    catch: (e) => fail("InitFailed", name, `tfjs could not start the ${name} backend: ${e instanceof Error ? e.message : String(e)}`)
  }).pipe(
    Effect.flatMap((ok) =>
      ok && tf.getBackend() === name ? Effect.void : Effect.fail(fail("InitFailed", name, `tfjs could not start the ${name} backend`))
    )
  )

const noThreads = (requested: number): Threads => ({ requested, wasm: 0, blas: 0, tensorflow: 0 })

const startCpu = (r: BackendOptions.Resolved, notices: ReadonlyArray<string>): Effect.Effect<Info, BackendError> =>
  setBackend("cpu").pipe(
    // The cpu backend's first write prints a banner recommending tfjs-node: the choice is already made here.
    Effect.tap(() => Effect.sync(() => Object.assign(tf.backend(), { firstUse: false }))),
    Effect.as({ name: "cpu" as const, tfjs: "cpu", matmul: "stock" as const, threads: noThreads(r.threads), notices })
  )

const startWasm = Effect.fnUntraced(function*(r: BackendOptions.Resolved) {
  const notices: Array<string> = []
  let gemm: MatmulKernels.Gemm | undefined
  if (r.matmul === "openblas" || r.matmul === "auto") {
    const loaded = yield* Effect.tryPromise({
      try: () => loadOpenBlas(r.threads),
      catch: (e) => `the OpenBLAS kernels failed to start: ${e instanceof Error ? e.message : String(e)}`
    }).pipe(Effect.match({ onFailure: (reason) => reason, onSuccess: (gemm) => gemm }))
    if (typeof loaded === "string") {
      if (r.matmul === "openblas") return yield* fail("Missing", "wasm", `--matmul openblas: ${loaded}`)
      if (loaded !== "the OpenBLAS kernels are not part of this build") notices.push(`${loaded}; using XNNPACK`)
    } else gemm = loaded
  }
  UnsortedSegmentSum.install()
  // `stock` is tfjs-backend-wasm as shipped (the baseline), apart from the kernel it lacks.
  if (r.matmul === "stock") {
    MatmulKernels.uninstall()
    LeadingSum.uninstall()
    Gather.uninstall()
    SharedIdentity.uninstall()
    StridedSlice.uninstall()
  } else {
    MatmulKernels.install()
    SharedIdentity.install()
    Gather.install()
    StridedSlice.install()
    // With OpenBLAS, its load() has put OpenBlasSum (the same column sums, through the addon) under Sum.
    if (gemm === undefined) LeadingSum.install()
  }
  if (gemm !== undefined) MatmulKernels.register(gemm)
  else MatmulKernels.unregister()

  // OpenBLAS owns the threads when present: wasm stays single-threaded (two pools would fight for the cores).
  const threaded = gemm === undefined && r.threads > 1
  if (threaded) {
    const restore = WasmThreaded.register(r.threads)
    // 60 s: starting takes ~0.3 s; a pool that never comes up (a worker that cannot load) must not hang the run.
    const started = yield* setBackend("wasm").pipe(Effect.timeout("60 seconds"), Effect.option)
    if (started._tag === "None") {
      restore()
      notices.push(`threaded wasm did not start; using 1 thread`)
      yield* setBackend("wasm")
    }
  } else {
    yield* setBackend("wasm")
  }
  const wasmThreads = WasmThreaded.threadsInUse()
  return {
    name: "wasm" as const,
    tfjs: "wasm",
    matmul: MatmulKernels.path(),
    threads: { requested: r.threads, wasm: wasmThreads, blas: gemm !== undefined ? r.threads : 0, tensorflow: 0 },
    notices
  } satisfies Info
})

const tensorflowInfo = (name: "tensorflow" | "tensorflow-gpu", r: BackendOptions.Resolved, notices: ReadonlyArray<string>): Info => ({
  name,
  tfjs: "tensorflow",
  matmul: "stock",
  // TensorFlow's pool is what TF_NUM_INTRAOP_THREADS says (set from --threads unless the user had set it).
  threads: { requested: r.threads, wasm: 0, blas: 0, tensorflow: Number(process.env["TF_NUM_INTRAOP_THREADS"] ?? r.threads) || r.threads },
  notices
})

const tryLoad = (name: TensorflowNode.Package, threads: number) => Effect.promise(() => TensorflowNode.load(name, threads))

const startTensorflow = Effect.promise(() => TensorflowNode.start())

const start = Effect.fnUntraced(function*(r: BackendOptions.Resolved) {
  switch (r.backend) {
    case "cpu":
      return yield* startCpu(r, [])
    case "wasm":
      return yield* startWasm(r)
    case "tensorflow-gpu": {
      const loaded = yield* tryLoad(TensorflowNode.gpuPackage, r.threads)
      if (!loaded.ok) return yield* fail("Missing", "tensorflow-gpu", `--backend tensorflow-gpu: ${loaded.reason} (see docs/backends.md)`)
      const started = yield* startTensorflow
      if (!started.ok) return yield* fail("InitFailed", "tensorflow-gpu", "--backend tensorflow-gpu: tfjs could not start TensorFlow")
      if (!started.gpu) return yield* fail("NoGpu", "tensorflow-gpu", "--backend tensorflow-gpu: TensorFlow sees no GPU (CUDA 11.2 and cuDNN 8.1 needed)")
      return tensorflowInfo("tensorflow-gpu", r, [])
    }
    case "tensorflow": {
      // tfjs-node first; the GPU package also runs on the CPU (and is the one to use if it is already loaded).
      const cpu = yield* tryLoad(TensorflowNode.cpuPackage, r.threads)
      const loaded = cpu.ok ? cpu : yield* tryLoad(TensorflowNode.gpuPackage, r.threads)
      if (!loaded.ok) {
        const reason = cpu.ok ? loaded.reason : `${cpu.reason}; ${loaded.reason}`
        return yield* fail("Missing", "tensorflow", `--backend tensorflow: ${reason} (see docs/backends.md)`)
      }
      const started = yield* startTensorflow
      if (!started.ok) return yield* fail("InitFailed", "tensorflow", "--backend tensorflow: tfjs could not start TensorFlow")
      return tensorflowInfo("tensorflow", r, [])
    }
    case "auto": {
      const notices: Array<string> = []
      const gpu = yield* tryLoad(TensorflowNode.gpuPackage, r.threads)
      const tensorflow = gpu.ok ? gpu : yield* tryLoad(TensorflowNode.cpuPackage, r.threads)
      if (tensorflow.ok) {
        const started = yield* startTensorflow
        if (started.ok) return tensorflowInfo(started.gpu ? "tensorflow-gpu" : "tensorflow", r, notices)
        notices.push(`${tensorflow.package} loaded but TensorFlow did not start; trying wasm`)
      }
      const wasm = yield* startWasm(r).pipe(Effect.result)
      if (wasm._tag === "Success") return { ...wasm.success, notices: [...notices, ...wasm.success.notices] }
      // A forced --matmul that cannot load is the user's to fix, not a reason to fall back to cpu.
      if (wasm.failure instanceof BackendError && wasm.failure.reason === "Missing") return yield* wasm.failure
      const why = wasm.failure instanceof BackendError ? wasm.failure.message : String(wasm.failure)
      notices.push(`wasm did not start (${why}); using cpu`)
      return yield* startCpu(r, notices)
    }
  }
})

interface Running {
  readonly request: BackendOptions.Resolved
  readonly info: Promise<Info | BackendError>
}

let running: Running | undefined

/** Whether a new request can share the backend already running. */
const conflict = (running: BackendOptions.Resolved, info: Info, request: BackendOptions.Resolved): string | undefined => {
  if (request.explicit.backend && request.backend !== "auto" && request.backend !== info.name) {
    return `--backend ${request.backend}: tfjs already runs ${info.name} in this process`
  }
  if (request.explicit.threads && request.threads !== running.threads) {
    return `--threads ${request.threads}: tfjs already runs with ${running.threads} threads in this process`
  }
  if (request.explicit.matmul && request.matmul !== "auto" && request.matmul !== info.matmul) {
    return `--matmul ${request.matmul}: tfjs already multiplies with ${info.matmul} in this process`
  }
  return undefined
}

/** Whether a forced backend could run here at all (checked before a conflict, whose message would mislead). */
const checkForced = Effect.fnUntraced(function*(request: BackendOptions.Resolved) {
  if (request.backend !== "tensorflow" && request.backend !== "tensorflow-gpu") return
  const current = TensorflowNode.current()
  if (current === TensorflowNode.gpuPackage || (current !== undefined && request.backend === "tensorflow")) return
  const loaded = yield* tryLoad(request.backend === "tensorflow-gpu" ? TensorflowNode.gpuPackage : TensorflowNode.cpuPackage, request.threads)
  if (!loaded.ok) return yield* fail("Missing", request.backend, `--backend ${request.backend}: ${loaded.reason} (see docs/backends.md)`)
})

/** Starts tfjs for `options` (settled against `env`), once per process. */
export const initialise = Effect.fn("Tfjs.initialise")(function*(
  options: BackendOptions.Options,
  env: Readonly<Record<string, string | undefined>> = process.env // default: this process's variables
) {
  const request = BackendOptions.resolve(options, env)
  if (request instanceof BackendError) return yield* request
  if (running === undefined) {
    const effect = start(request).pipe(Effect.match({ onFailure: (e) => e, onSuccess: (info) => info }))
    running = { request, info: Effect.runPromise(effect) }
  } else {
    yield* checkForced(request)
  }
  const first = running
  const info = yield* Effect.promise(() => first.info)
  if (info instanceof BackendError) {
    // A start that failed leaves nothing running: the next request may try again.
    if (running === first) running = undefined
    return yield* info
  }
  if (first.request !== request) {
    const clash = conflict(first.request, info, request)
    if (clash !== undefined) return yield* fail("Conflict", info.name, clash)
  }
  return info
})

/** The running backend, if tfjs has been initialised (and started successfully). */
export const current = (): Effect.Effect<Info | undefined> =>
  running === undefined
    ? Effect.succeed(undefined)
    : Effect.promise(() => running!.info).pipe(Effect.map((i) => (i instanceof BackendError ? undefined : i)))

/** Which backends can run on this machine, and the one `auto` would pick (loads optional packages to find out). */
export const available = Effect.fn("Tfjs.available")(function*(threads: number) {
  const found: Array<BackendName> = []
  const gpu = yield* tryLoad(TensorflowNode.gpuPackage, threads)
  const tensorflow = gpu.ok ? gpu : yield* tryLoad(TensorflowNode.cpuPackage, threads)
  if (tensorflow.ok) {
    const started = yield* startTensorflow
    if (started.ok && started.gpu) found.push("tensorflow-gpu")
    if (started.ok) found.push("tensorflow")
  }
  if ("WebAssembly" in globalThis && tf.engine().findBackendFactory("wasm") != null) found.push("wasm")
  found.push("cpu")
  return found
})
