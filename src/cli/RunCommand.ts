import { Effect, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Cluster from "../cluster/Cluster.ts"
import * as ClusterDispatcher from "../cluster/ClusterDispatcher.ts"
import * as Backend from "../model/backend/Backend.ts"
import * as Progress from "../pipeline/Progress.ts"
import * as Start from "../pipeline/Start.ts"
import * as BackendCommand from "./BackendCommand.ts"
import * as UserError from "./UserError.ts"

/** The services a run needs: the tensor backend the flags ask for, and progress output. */
export const services = (flags: Parameters<typeof BackendCommand.options>[0]) =>
  Layer.mergeAll(Backend.layer(BackendCommand.options(flags)), Progress.layer)

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
  ...BackendCommand.flags
}, ({ cluster, out, script, set, ...flags }) =>
  Start.start(script, { out, sets: set }).pipe(Effect.asVoid, onCluster(cluster), Effect.provide(services(flags)))
).pipe(Command.withDescription("Run a pipeline script in a new run directory (config, metrics, checkpoints, evaluation, report)"))
