import { Effect } from "effect"
import { Argument, Command } from "effect/cli"
import * as Resume from "../pipeline/Resume.ts"
import * as BackendCommand from "./BackendCommand.ts"
import * as RunCommand from "./RunCommand.ts"

/**
 * `stepagent resume <run-dir>`: continues a run from its last checkpoint. On the same backend the result is
 * the uninterrupted run's, bit for bit; a run that is complete, or that could not be resumed exactly, is refused
 * with a one-line reason and a non-zero exit.
 */
export const command = Command.make("resume", {
  runDir: Argument.String("run-dir").pipe(Argument.withDescription("the run directory to continue")),
  cluster: RunCommand.clusterFlag,
  ...BackendCommand.flags,
  trainThreads: RunCommand.trainThreads
}, ({ cluster, runDir, ...flags }) => Resume.resume(runDir).pipe(Effect.asVoid, RunCommand.onCluster(cluster), Effect.provide(RunCommand.services(flags))))
  .pipe(Command.withDescription("Continue a run from its last checkpoint (exact on the same backend)"))
