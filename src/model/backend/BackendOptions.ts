import * as Os from "node:os"
import { BackendError } from "./BackendError.ts"

/**
 * What a user can ask of the tensor backend, and how a request is settled: a flag wins over its STEPAGENT_*
 * variable, which wins over the default. Pure apart from the defaults read from the machine.
 */

/** The concrete backends, fastest first: the order `auto` tries them in. */
export const backendNames = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const
export type BackendName = (typeof backendNames)[number]

export const backendChoices = ["auto", ...backendNames] as const
export type BackendChoice = (typeof backendChoices)[number]

/** The wasm backend's 2-D multiply: `auto` takes OpenBLAS where its addon loads, else XNNPACK. */
export const matmulChoices = ["auto", "openblas", "xnnpack", "stock"] as const
export type MatmulChoice = (typeof matmulChoices)[number]

/** The environment variables that stand in for the flags. */
export const variables = {
  backend: "STEPAGENT_BACKEND",
  threads: "STEPAGENT_THREADS",
  matmul: "STEPAGENT_MATMUL"
} as const

/** A request: what the flags say (unset fields come from the environment, then from the defaults). */
export interface Options {
  readonly backend?: BackendChoice | undefined
  readonly threads?: number | undefined
  readonly matmul?: MatmulChoice | undefined
}

/** A settled request. */
export interface Resolved {
  readonly backend: BackendChoice
  readonly threads: number
  readonly matmul: MatmulChoice
  /** Which fields a flag or variable set: a defaulted field never conflicts with a backend already running. */
  readonly explicit: { readonly backend: boolean; readonly threads: boolean; readonly matmul: boolean }
}

/** The most threads accepted (beyond any machine this runs on; guards against a typo like 200). */
const maxThreads = 128

/** The default thread count: every core the process may use. */
export const defaultThreads = (): number => Os.availableParallelism()

const isChoice = <A extends string>(choices: ReadonlyArray<A>, s: string): s is A => (choices as ReadonlyArray<string>).includes(s)

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s.trim() === "" ? undefined : s.trim())

const bad = (message: string) => new BackendError({ reason: "BadOption", backend: "options", message })

/** Settles a request against the environment (`process.env` in the CLI) and the machine's core count. */
export const resolve = (
  options: Options,
  env: Readonly<Record<string, string | undefined>>,
  cores: number = defaultThreads() // default: the machine's
): Resolved | BackendError => {
  const backendVar = nonEmpty(env[variables.backend])
  const threadsVar = nonEmpty(env[variables.threads])
  const matmulVar = nonEmpty(env[variables.matmul])

  let backend: BackendChoice = "auto" // default: the fastest backend that loads
  if (options.backend !== undefined) backend = options.backend
  else if (backendVar !== undefined) {
    if (!isChoice(backendChoices, backendVar)) {
      return bad(`${variables.backend}=${backendVar}: expected one of ${backendChoices.join("|")}`)
    }
    backend = backendVar
  }

  let matmul: MatmulChoice = "auto" // default: the fastest multiply that loads
  if (options.matmul !== undefined) matmul = options.matmul
  else if (matmulVar !== undefined) {
    if (!isChoice(matmulChoices, matmulVar)) {
      return bad(`${variables.matmul}=${matmulVar}: expected one of ${matmulChoices.join("|")}`)
    }
    matmul = matmulVar
  }

  let threads = cores // default: every core
  if (options.threads !== undefined) {
    if (!Number.isInteger(options.threads) || options.threads < 1 || options.threads > maxThreads) {
      return bad(`--threads ${options.threads}: expected a whole number from 1 to ${maxThreads}`)
    }
    threads = options.threads
  } else if (threadsVar !== undefined) {
    const n = Number(threadsVar)
    if (!/^\d+$/.test(threadsVar) || n < 1 || n > maxThreads) {
      return bad(`${variables.threads}=${threadsVar}: expected a whole number from 1 to ${maxThreads}`)
    }
    threads = n
  }

  return {
    backend,
    threads,
    matmul,
    explicit: {
      backend: options.backend !== undefined || backendVar !== undefined,
      threads: options.threads !== undefined || threadsVar !== undefined,
      matmul: options.matmul !== undefined || matmulVar !== undefined
    }
  }
}
