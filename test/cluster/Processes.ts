import * as NodeChild from "node:child_process"
import * as NodePath from "node:path"

/**
 * `stepagent` as child processes for the cluster tests and benches: a CLI run that does not block this process
 * (its workers' output keeps flowing), and `stepagent worker` processes. Every one on the test backend (wasm,
 * XNNPACK, one thread) unless flags say otherwise.
 */
export const root = NodePath.resolve(import.meta.dirname, "../..")
export const node = NodePath.join(root, "node_modules/.bin/node")
const bin = NodePath.join(root, "bin/stepagent.ts")
export const env = { ...process.env, STEPAGENT_BACKEND: "wasm", STEPAGENT_THREADS: "1", STEPAGENT_MATMUL: "xnnpack" }

export interface Done {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
  readonly seconds: number
}

/** Runs `node <argv>` from the repository's root; resolves when it ends. */
export const spawn = (argv: ReadonlyArray<string>): Promise<Done> =>
  new Promise((resolve) => {
    const t0 = Date.now()
    const p = NodeChild.spawn(node, [...argv], { cwd: root, env })
    let stdout = ""
    let stderr = ""
    p.stdout.on("data", (b: Buffer) => stdout += b.toString())
    p.stderr.on("data", (b: Buffer) => stderr += b.toString())
    p.on("close", (status) => resolve({ status, stdout, stderr, seconds: (Date.now() - t0) / 1000 }))
  })

/** `stepagent <args>`. */
export const cli = (args: ReadonlyArray<string>): Promise<Done> => spawn([bin, ...args])

export interface Worker {
  readonly process: NodeChild.ChildProcess
  readonly log: () => string
}

/** Starts `stepagent worker --cluster url ...flags`; resolves once its runner listens. */
export const startWorker = (url: string, flags: ReadonlyArray<string> = []): Promise<Worker> =>
  new Promise((resolve, reject) => {
    const p = NodeChild.spawn(node, [bin, "worker", "--cluster", url, ...flags], { cwd: root, env })
    let log = ""
    const w: Worker = { process: p, log: () => log }
    p.stdout.on("data", (b: Buffer) => log += b.toString())
    p.stderr.on("data", (b: Buffer) => {
      log += b.toString()
      if (/Listening on/.test(log)) resolve(w)
    })
    p.on("exit", (code) => reject(new Error(`worker exited (${code}): ${log.slice(-2000)}`)))
  })

/** Kills workers with SIGKILL (their exit is expected: no rejection). */
export const kill = (ws: ReadonlyArray<Worker>): void => {
  for (const w of ws) {
    w.process.removeAllListeners("exit")
    w.process.kill("SIGKILL")
  }
}

/** Resolves once `f` holds (polled every 50 ms). */
export const until = (f: () => boolean): Promise<void> =>
  new Promise((resolve) => {
    const poll = setInterval(() => {
      if (f()) {
        clearInterval(poll)
        resolve()
      }
    }, 50)
  })
