import * as tf from "@tensorflow/tfjs"
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"

/**
 * The native TensorFlow backends: `@tensorflow/tfjs-node-gpu` and `@tensorflow/tfjs-node`, both optional
 * dependencies (their install downloads libtensorflow, which fails offline; npm then drops them). Each registers
 * tfjs's `tensorflow` backend, so at most one of them is ever loaded in a process: the first that loads stays.
 * They are imported dynamically by name, so a missing one costs nothing.
 */

export const gpuPackage = "@tensorflow/tfjs-node-gpu"
export const cpuPackage = "@tensorflow/tfjs-node"
export type Package = typeof gpuPackage | typeof cpuPackage

/**
 * Whether a TensorFlow package is installed (resolvable from here), without loading it: what `auto` would try
 * before wasm. Installed is not loadable (libtensorflow may be missing); `load` tells that, at a cost.
 */
export const installed = (): boolean =>
  [gpuPackage, cpuPackage].some((name) => {
    try {
      import.meta.resolve(name)
      return true
    } catch {
      return false
    }
  })

/** A loaded package, or why it did not load (one line). */
export type Loaded = { readonly ok: true; readonly package: Package } | { readonly ok: false; readonly reason: string }

let loaded: Package | undefined
const failures = new Map<Package, string>()

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? ""

const isNotInstalled = (e: unknown): boolean => {
  const code = typeof e === "object" && e !== null && "code" in e ? (e as { code: unknown }).code : undefined
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND"
}

/**
 * Why an installed package cannot load, found before importing it: its native library (`lib/`, downloaded by its
 * install script) is missing when npm ran without scripts or offline with the package kept. Importing such a
 * package registers tfjs's tensorflow kernels before the binding fails, and the next attempt then prints one
 * "already registered" line per kernel (~155): the check keeps both packages' failures silent.
 */
const missingLibrary = (name: Package): string | undefined => {
  const manifest = (() => {
    try {
      return createRequire(import.meta.url).resolve(`${name}/package.json`)
    } catch {
      return undefined // not installed: the import says so
    }
  })()
  if (manifest === undefined || existsSync(path.join(path.dirname(manifest), "lib"))) return undefined
  return `${name} is installed without its native library (its install script did not run; npm rebuild ${name})`
}

/**
 * TensorFlow's own thread pools read these variables when libtensorflow starts; a user's setting wins.
 * TF_CPP_MIN_LOG_LEVEL=2 keeps TensorFlow's info lines out of the command's output.
 */
const prepareEnvironment = (threads: number): void => {
  process.env["TF_NUM_INTRAOP_THREADS"] ??= String(threads)
  process.env["TF_NUM_INTEROP_THREADS"] ??= "1" // one graph op at a time: eager tfjs issues ops one by one
  process.env["TF_CPP_MIN_LOG_LEVEL"] ??= "2"
}

/**
 * Loads `name` unless a tensorflow package is already loaded (then that one answers: a second would register
 * the same backend twice). Failures are remembered: a package is imported at most once.
 */
export const load = async (name: Package, threads: number): Promise<Loaded> => {
  if (loaded !== undefined) {
    return loaded === name ? { ok: true, package: name } : { ok: false, reason: `${loaded} is already loaded in this process` }
  }
  const failed = failures.get(name)
  if (failed !== undefined) return { ok: false, reason: failed }
  const missing = missingLibrary(name)
  if (missing !== undefined) {
    failures.set(name, missing)
    return { ok: false, reason: missing }
  }
  prepareEnvironment(threads)
  const specifier: string = name
  try {
    await import(specifier)
  } catch (e) {
    const reason = isNotInstalled(e) ? `${name} is not installed` : `${name} does not load: ${firstLine(e)}`
    failures.set(name, reason)
    return { ok: false, reason }
  }
  loaded = name
  return { ok: true, package: name }
}

/** The package already loaded in this process, if any. */
export const current = (): Package | undefined => loaded

interface NodeBackendFlags {
  readonly isGPUPackage?: boolean
  readonly isUsingGpuDevice?: boolean
}

/** Starts tfjs's `tensorflow` backend; whether it computes on a GPU. */
export const start = async (): Promise<{ readonly ok: boolean; readonly gpu: boolean }> => {
  const ok = await tf.setBackend("tensorflow")
  if (!ok || tf.getBackend() !== "tensorflow") return { ok: false, gpu: false }
  const flags = tf.backend() as unknown as NodeBackendFlags
  return { ok: true, gpu: flags.isGPUPackage === true && flags.isUsingGpuDevice === true }
}
