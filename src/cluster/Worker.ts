import { Duration, Effect, Layer, Semaphore } from "effect"
import * as NodeChild from "node:child_process"
import * as NodePath from "node:path"
import * as Cluster from "./Cluster.ts"
import { DispatchError } from "../stages/Dispatcher.ts"
import type { ComputeThread } from "./ComputeThread.ts"
import { Work } from "./WorkEntity.ts"

/**
 * A worker process's part of the cluster (`stepagent worker`): a socket runner that owns a share of the shards and
 * hands the units addressed to them to its compute thread (src/cluster/ComputeThread.ts), which runs them one at a
 * time. Any number of workers on any hosts.
 */
export interface Options {
  readonly url: string // postgres://USER@HOST:PORT/DB
  readonly advertise: { readonly host: string; readonly port: number } // where other members reach this worker
  readonly listen: { readonly host: string; readonly port: number } // where it listens
  readonly childEnv: Readonly<Record<string, string>> // for whole commands: the worker's backend as STEPAGENT_* variables
}

/**
 * Runs `stepagent <argv>` in a child process (this worker's own install), its stderr into the worker's log, on the
 * worker's tensor backend (`childEnv`: its --backend, --threads, --matmul as STEPAGENT_* variables).
 */
const command = (argv: ReadonlyArray<string>, cwd: string, childEnv: Readonly<Record<string, string>>) =>
  Effect.callback<{ readonly code: number | null; readonly signal: string | null; readonly stdout: string }>((resume, signal) => {
    // an IPC channel: when this worker dies (even by SIGKILL) the channel closes and the command stops itself
    // (src/cli/main.ts), rather than run on beside the worker that takes its unit over
    const child = NodeChild.spawn(process.execPath, [bin, ...argv], { cwd, stdio: ["ignore", "pipe", "inherit", "ipc"], env: { ...process.env, ...childEnv } })
    let stdout = ""
    child.stdout?.setEncoding("utf8").on("data", (d: string) => void (stdout += d))
    child.on("error", (e) => resume(Effect.succeed({ code: null, signal: null, stdout: `${stdout}\n${e.message}` })))
    child.on("close", (code, sig) => resume(Effect.succeed({ code, signal: sig, stdout })))
    // the learner gave up on the unit, or the worker stops: the run is cut (SIGTERM lets it finish its checkpoint)
    signal.addEventListener("abort", () => child.kill("SIGTERM"))
  })

const bin = NodePath.resolve(import.meta.dirname, "../../bin/stepagent.ts")

/** A unit computed on another backend than the learner's would not give its numbers: refused, with one line. */
const sameNumerics = (thread: ComputeThread, learner: string, self: string) =>
  learner === thread.numerics
    ? Effect.void
    : Effect.fail(new DispatchError({ reason: "Failed", message: `worker ${self} computes on ${thread.numerics}, the learner on ${learner}: start workers with the learner's --backend and --matmul (and with OpenBLAS its --threads)` }))

/** A unit of the compute thread, checked first, with its lines in the worker's log (started, done in, failed). */
const logged = <A>(unit: string, check: Effect.Effect<void, DispatchError>, work: Effect.Effect<A, DispatchError>) =>
  check.pipe(
    Effect.andThen(Effect.logInfo(`${unit} started`)),
    Effect.andThen(Effect.timed(work)),
    Effect.tap(([d]) => Effect.logInfo(`${unit} done in ${Duration.toSeconds(d).toFixed(1)} s`)),
    Effect.map(([, a]) => a),
    Effect.tapError((e) => Effect.logWarning(`${unit} failed: ${e.message}`))
  )

const handlers = (thread: ComputeThread, self: string, runs: Semaphore.Semaphore, childEnv: Readonly<Record<string, string>>) =>
  Work.of({
    cli: ({ payload }) => {
      const what = `command ${payload.key.slice(0, 12)} (stepagent ${payload.argv.slice(0, 2).join(" ")})`
      return runs.withPermits(1)(
        Effect.logInfo(`${what} started`).pipe(
          Effect.andThen(Effect.timed(command(payload.argv, payload.cwd, childEnv))),
          Effect.tap(([d, r]) => Effect.logInfo(`${what} ended (exit ${r.code ?? r.signal}) in ${Duration.toSeconds(d).toFixed(1)} s`)),
          Effect.map(([, r]) => ({ ...r, worker: self }))
        )
      )
    },
    samples: ({ payload }) =>
      logged(
        `unit ${payload.key.slice(0, 12)} (${payload.unit.states.length} states x ${payload.unit.k} samples, policy ${payload.policy.slice(0, 12)})`,
        sameNumerics(thread, payload.backend, self),
        thread.samples(payload.unit, payload.policy)
      ),
    scores: ({ payload }) =>
      logged(
        `unit ${payload.key.slice(0, 12)} (${payload.unit.requests.length} ${payload.unit.head} scores, model ${payload.policy.slice(0, 12)})`,
        sameNumerics(thread, payload.backend, self),
        thread.scores(payload.unit, payload.policy)
      ),
    episodes: ({ payload }) =>
      logged(
        `unit ${payload.key.slice(0, 12)} (${payload.wave.taskIds.length} ${payload.wave.env.name} episodes from ${payload.wave.taskIds[0] ?? "-"}, policy ${payload.policy.slice(0, 12)})`,
        sameNumerics(thread, payload.backend, self),
        thread.episodes(payload.wave, payload.policy)
      )
  })

/**
 * The worker: its entity handlers on a socket runner. Whole commands run one at a time, apart from units of episodes.
 * The commands' semaphore is the worker's, made once: the handlers are built once per entity, and every unit is
 * addressed to an entity of its own (src/cluster/Placement.ts), so a semaphore made with them held one command each
 * (a worker ran four runs of the paper table at once).
 */
export const layer = (o: Options, thread: ComputeThread) =>
  Layer.unwrap(Effect.map(Semaphore.make(1), (runs) =>
    Work.toLayer(
      Effect.succeed(handlers(thread, `${o.advertise.host}:${o.advertise.port}`, runs, o.childEnv)),
      { maxIdleTime: "10 minutes" }
    ))).pipe(Layer.provide(Cluster.runner(o.url, o.advertise, o.listen)))
