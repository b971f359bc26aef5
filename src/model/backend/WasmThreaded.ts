import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import * as tf from "@tensorflow/tfjs"
import * as WasmPackage from "@tensorflow/tfjs-backend-wasm"
import { webAssembly } from "./WasmInternals.ts"

/**
 * The multithreaded wasm backend in Node, with no change to node_modules. tfjs-backend-wasm hard-codes threads
 * off in Node and, in a browser, caps them at half the logical cores; this module re-registers the `wasm`
 * backend with a factory that
 *   - loads `wasm-out/tfjs-backend-wasm-threaded-simd.js` (the threaded SIMD build the package ships) directly,
 *   - points emscripten's pthread worker at a real file written from the package's `wasmWorkerContents`
 *     (Node workers cannot start from the blob URL the package makes for browsers),
 *   - sets `mainScriptUrlOrBlob` to the build's JS path, which each worker evaluates,
 *   - overrides `emscripten_num_logical_cores` at instantiation so the pool gets the threads asked for.
 * The pool's idle workers are then ended and the busy ones unref'd: a process using it exits normally.
 */

/** The tfjs priority of the wasm backend (the package's own). */
const wasmPriority = 2

const require = createRequire(import.meta.url)


interface EmscriptenConfig {
  mainScriptUrlOrBlob: string
  locateFile: (path: string, prefix: string) => string
  instantiateWasm: (
    imports: { env: Record<string, unknown> },
    receive: (instance: object, module: object) => void
  ) => object
  onAbort: (what: unknown) => void
}

interface NodeWorker {
  readonly unref: () => void
  readonly terminate: () => unknown
}

/** The threaded module as the factory resolves it, before the tfjs bridge is attached. */
interface RawModule {
  readonly cwrap: (name: string, returnType: null | "number", argTypes: ReadonlyArray<string>) => unknown
  readonly PThread: { runningWorkers: Array<NodeWorker>; unusedWorkers: Array<NodeWorker> }
  tfjs?: Record<string, unknown>
}

type Factory = (config: EmscriptenConfig) => Promise<RawModule>

const packageFile = (file: string): string => require.resolve(`@tensorflow/tfjs-backend-wasm/${file}`)

/** The pthread worker script as a real file (written once per package version; same bytes on every write). */
const workerFile = (): string => {
  const { wasmWorkerContents } = require(packageFile("wasm-out/tfjs-backend-wasm-threaded-simd.worker.js")) as {
    wasmWorkerContents: string
  }
  // The contents is a JS source held in a template string: its "\n" escapes arrive as real newlines, which would
  // break the string literals inside it (the package escapes them the same way for its blob).
  const source = wasmWorkerContents.replace(/\n/g, "\\n")
  const file = Path.join(Os.tmpdir(), `stepagent-tfjs-wasm-${WasmPackage.version_wasm}.worker.cjs`)
  const same = Fs.existsSync(file) && Fs.readFileSync(file, "utf8") === source
  if (!same) {
    const tmp = `${file}.${process.pid}.tmp`
    Fs.writeFileSync(tmp, source)
    Fs.renameSync(tmp, file)
  }
  return file
}

/** A backend factory for the threaded build with `threads` threads in XNNPACK's pool. */
const factory = (threads: number) => async (): Promise<tf.KernelBackend> => {
  const script = packageFile("wasm-out/tfjs-backend-wasm-threaded-simd.js")
  const binary = Path.join(Path.dirname(script), "tfjs-backend-wasm-threaded-simd.wasm")
  const worker = workerFile()
  const make = require(script) as Factory
  const module = await new Promise<RawModule>((resolve, reject) => {
    const config: EmscriptenConfig = {
      mainScriptUrlOrBlob: script,
      locateFile: (path, prefix) => (path.endsWith(".worker.js") ? worker : prefix + path),
      instantiateWasm: (imports, receive) => {
        // The C++ side sizes its pool from this (as half of it, for hyper-threads).
        imports.env["emscripten_num_logical_cores"] = () => 2 * threads
        webAssembly.instantiate(Fs.readFileSync(binary), imports).then(
          (result) => receive(result.instance, result.module),
          reject
        )
        return {}
      },
      onAbort: (what) => reject(new Error(`threaded wasm aborted: ${String(what)}`))
    }
    make(config).then(resolve, reject)
  })
  module.tfjs = {
    init: module.cwrap("init", null, []),
    initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: module.cwrap("get_threads_count", "number", []),
    registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: module.cwrap("dispose_data", null, ["number"]),
    dispose: module.cwrap("dispose", null, [])
  }
  WasmPackage.setThreadsCount(threads)
  const backend = new WasmPackage.BackendWasm(module as unknown as ConstructorParameters<typeof WasmPackage.BackendWasm>[0])
  // The pool's threads are started now; the spare workers emscripten pre-spawned are not needed.
  for (const w of module.PThread.unusedWorkers) void w.terminate()
  module.PThread.unusedWorkers = []
  for (const w of module.PThread.runningWorkers) w.unref()
  return backend
}

/**
 * Makes `wasm` the threaded build with `threads` threads (not started until tfjs first sets the backend).
 * Returns a function that puts back the factory that was registered before.
 */
export const register = (threads: number): (() => void) => {
  const previous = tf.engine().findBackendFactory("wasm")
  tf.removeBackend("wasm")
  tf.registerBackend("wasm", factory(threads), wasmPriority)
  return () => {
    tf.removeBackend("wasm")
    WasmPackage.setThreadsCount(1)
    if (previous !== undefined && previous !== null) tf.registerBackend("wasm", previous, wasmPriority)
  }
}

/** The number of threads the running wasm backend's pool has. */
export const threadsInUse = (): number => WasmPackage.getThreadsCount()
