import { Effect, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Cluster from "../cluster/Cluster.ts"
import * as ClusterDispatcher from "../cluster/ClusterDispatcher.ts"
import * as ThreadDispatcher from "../cluster/ThreadDispatcher.ts"
import * as Backend from "../model/backend/Backend.ts"
import * as BackendOptions from "../model/backend/BackendOptions.ts"
import * as TensorflowNode from "../model/backend/TensorflowNode.ts"
import * as GradientThreads from "../stages/GradientThreads.ts"
import * as Progress from "../pipeline/Progress.ts"
import * as Start from "../pipeline/Start.ts"
import * as BackendCommand from "./BackendCommand.ts"
import * as UserError from "./UserError.ts"

/** The variable that stands in for `--train-threads`. */
export const trainThreadsVariable = "STEPAGENT_TRAIN_THREADS"

/** `--train-threads` of run and resume (training happens there only). */
export const trainThreads = BackendCommand.trainThreads

/**
 * The training threads asked for: the flag, else STEPAGENT_TRAIN_THREADS, else `fallback`; a count that is not a
 * whole number from 1 to 64 is a one-line error.
 */
export const trainThreadCount = (flag: Option.Option<number>, env: Readonly<Record<string, string | undefined>>, fallback = 1, name = "--train-threads"): number | string => {
  const raw = Option.isSome(flag) ? String(flag.value) : env[trainThreadsVariable]?.trim() || String(fallback)
  const n = Number(raw)
  const from = Option.isSome(flag) ? name : trainThreadsVariable
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : `${from} ${raw}: expected a whole number of threads from 1 to 64`
}

/**
 * The default of `--train-threads` for a command that trains: every core when the run will be on wasm and nobody
 * chose the backend's threads (a quickstart-sized SFT step: 0.70 s on two training threads against 0.86 s on two
 * XNNPACK threads, 0.36 s against 0.44 s with OpenBLAS; evaluation waves then run on as many compute threads),
 * else 1: `--threads` or STEPAGENT_THREADS keeps the backend's own threads, and a TensorFlow backend, which `auto`
 * tries first when its package is installed, has its own thread pool.
 */
export const autoTrainThreads = (options: BackendOptions.Options, env: Readonly<Record<string, string | undefined>>, installedTensorflow: boolean, cores: number): number => {
  if (options.threads !== undefined || (env[BackendOptions.variables.threads]?.trim() ?? "") !== "") return 1
  const backend = options.backend ?? (env[BackendOptions.variables.backend]?.trim() || "auto")
  if (backend === "wasm" || (backend === "auto" && !installedTensorflow)) return Math.max(1, cores)
  return 1
}

/**
 * The services a run needs: the tensor backend the flags ask for, the threads that share training passes, and
 * progress output. With `--train-threads` above 1 every compute thread (the learner's included) runs a one-thread wasm
 * backend: the cores go to the passes, and OpenBLAS's thread count is one setting for the whole process; evaluation
 * and rollout waves then run on as many threads (src/cluster/ThreadDispatcher.ts, the same episodes). `eval` takes
 * `--eval-threads` instead (its waves only, the same default; STEPAGENT_TRAIN_THREADS is for training). A `--threads`
 * above 1 beside either, or a backend other than wasm, is a one-line error.
 */
export const services = (flags: Parameters<typeof BackendCommand.options>[0] & {
  readonly trainThreads?: Option.Option<number> | undefined
  readonly evalThreads?: Option.Option<number> | undefined
}) => {
  const options = BackendCommand.options(flags)
  const evaluating = flags.evalThreads !== undefined
  const name = evaluating ? "--eval-threads" : "--train-threads"
  const flag = flags.trainThreads ?? flags.evalThreads ?? Option.none()
  const env = evaluating ? {} : process.env
  const asked = Option.isSome(flag) || (env[trainThreadsVariable]?.trim() ?? "") !== ""
  // the default when nobody asked; commands that take neither flag (serve) keep 1
  const fallback = asked || (flags.trainThreads === undefined && !evaluating) ? 1 : autoTrainThreads(options, process.env, TensorflowNode.installed(), BackendOptions.defaultThreads())
  const count = trainThreadCount(flag, env, fallback, name)
  const shared = typeof count === "number" && count > 1
  const backend = Backend.layer(shared ? { ...options, threads: 1 } : options)
  const threads = Layer.unwrap(Effect.gen(function*() {
    if (typeof count === "string") return yield* UserError.fail(count)
    if (!shared) return GradientThreads.serial
    if (options.threads !== undefined && options.threads > 1) {
      const what = evaluating ? "each thread that evaluates" : "each thread that trains"
      return yield* UserError.fail(`--threads ${options.threads} with ${name} ${count}: ${what} runs a one-thread backend; leave out --threads`)
    }
    const info = yield* Backend.Backend
    if (info.name !== "wasm") {
      // the default counted on wasm (auto starts cpu only when wasm cannot start): then the run trains on one thread
      if (!asked) return GradientThreads.serial
      return yield* UserError.fail(`${name} ${count}: helper threads run on the wasm backend only (this run's backend is ${info.name})`)
    }
    const one = { backend: "wasm", matmul: info.matmul, threads: 1 } as const
    yield* Effect.logInfo(`${evaluating ? "evaluation episodes" : "training passes and evaluation episodes"} shared by ${count} threads (1 wasm thread each, matmul ${info.matmul})`)
    // the dispatcher is the fallback `--cluster` replaces (its own is provided inside this one: onCluster)
    const layer: Layer.Layer<GradientThreads.GradientThreads> = Layer.mergeAll(evaluating ? GradientThreads.serial : GradientThreads.layer(count, one), ThreadDispatcher.layer(count, one))
    return layer
  }))
  return Layer.mergeAll(Layer.provideMerge(threads, backend), Progress.layer)
}

/** `--cluster URL` of run, resume and eval: units of work run on the cluster's workers, with the same results. */
export const clusterFlag = Flag.String("cluster").pipe(
  Flag.withDescription("run evaluation episodes, rollouts, sampling and scoring batches on the workers of this cluster (postgres://USER@HOST:PORT/DB; start them with stepagent worker --cluster URL); same results as without"),
  Flag.optional
)

/** The program with the cluster's dispatcher when `--cluster` is given (a bad URL is a one-line error). */
export const onCluster = (cluster: Option.Option<string>) => <A, E, R>(program: Effect.Effect<A, E, R>) =>
  Option.isNone(cluster)
    ? program
    : Effect.gen(function*() {
      const bad = Cluster.urlProblem(cluster.value)
      if (bad !== undefined) return yield* UserError.fail(`--cluster ${bad}`)
      return yield* Effect.provide(program, ClusterDispatcher.layer(cluster.value))
    })

/**
 * `stepagent run <pipeline.ts> [--out runs/] [--set path=value ...] [--backend B]`: runs a pipeline in a new run
 * directory `runs/<pipeline>__<seed>__<timestamp>/`, printed on the first line; the report's path on the last.
 */
export const command = Command.make("run", {
  script: Argument.String("pipeline").pipe(Argument.withDescription("the pipeline script, e.g. pipelines/quickstart.ts")),
  out: Flag.String("out").pipe(Flag.withDescription("where run directories go (default runs/)"), Flag.withDefault("runs")),
  set: Flag.String("set").pipe(Flag.withDescription("override a config field, e.g. --set seed=2 --set stages.1.iterations=2 (repeatable)"), Flag.atLeast(0)),
  cluster: clusterFlag,
  ...BackendCommand.flags,
  trainThreads
}, ({ cluster, out, script, set, ...flags }) =>
  Start.start(script, { out, sets: set }).pipe(Effect.asVoid, onCluster(cluster), Effect.provide(services(flags)))
).pipe(Command.withDescription("Run a pipeline script in a new run directory (config, metrics, checkpoints, evaluation, report)"))
