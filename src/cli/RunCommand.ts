import { Effect, Layer } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Backend from "../model/backend/Backend.ts"
import * as Progress from "../pipeline/Progress.ts"
import * as Start from "../pipeline/Start.ts"
import * as BackendCommand from "./BackendCommand.ts"

/** The services a run needs: the tensor backend the flags ask for, and progress output. */
export const services = (flags: Parameters<typeof BackendCommand.options>[0]) =>
  Layer.mergeAll(Backend.layer(BackendCommand.options(flags)), Progress.layer)

/**
 * `stepagent run <pipeline.ts> [--out runs/] [--set path=value ...] [--backend B]`: runs a pipeline in a new run
 * directory `runs/<pipeline>__<seed>__<timestamp>/`, printed on the first line; the report's path on the last.
 */
export const command = Command.make("run", {
  script: Argument.String("pipeline").pipe(Argument.withDescription("the pipeline script, e.g. pipelines/quickstart.ts")),
  out: Flag.String("out").pipe(Flag.withDescription("where run directories go (default runs/)"), Flag.withDefault("runs")),
  set: Flag.String("set").pipe(Flag.withDescription("override a config field, e.g. --set seed=2 --set stages.1.iterations=2 (repeatable)"), Flag.atLeast(0)),
  ...BackendCommand.flags
}, ({ out, script, set, ...flags }) =>
  Start.start(script, { out, sets: set }).pipe(Effect.asVoid, Effect.provide(services(flags)))
).pipe(Command.withDescription("Run a pipeline script in a new run directory (config, metrics, checkpoints, evaluation, report)"))
