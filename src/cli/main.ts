import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect } from "effect"
import { Command } from "effect/cli"
import * as StderrLogger from "./StderrLogger.ts"
import * as UserError from "./UserError.ts"

/**
 * The `stepagent` command. Command groups are loaded on demand: a run of `stepagent data inspect` loads the
 * data commands only, not TensorFlow.js or the report's chart renderer (each costs tens of MB of memory and
 * hundreds of ms of start-up). Help and unknown commands load every group.
 */
const groups = {
  data: () => import("./DataCommand.ts"),
  tokenizer: () => import("./TokenizerCommand.ts"),
  env: () => import("./EnvCommand.ts"),
  backend: () => import("./BackendCommand.ts"),
  model: () => import("./ModelCommand.ts"),
  report: () => import("./ReportCommand.ts"),
  table: () => import("./TableCommand.ts"),
  run: () => import("./RunCommand.ts"),
  resume: () => import("./ResumeCommand.ts"),
  eval: () => import("./EvalCommand.ts"),
  serve: () => import("./ServeCommand.ts"),
  worker: () => import("./WorkerCommand.ts")
}
type Name = keyof typeof groups
type Group = Awaited<ReturnType<(typeof groups)[Name]>>["command"]

const first = process.argv.slice(2).find((a) => !a.startsWith("-"))
const chosen = first !== undefined && first in groups ? [groups[first as Name]] : Object.values(groups)
const loaded: Array<Group> = (await Promise.all(chosen.map((load) => load()))).map((g) => g.command)

const stepagent = Command.make("stepagent").pipe(
  Command.withDescription("StepAgent: step-wise RL for LLM agent policies (data, environments, models, pipelines)"),
  Command.withSubcommands(loaded as [Group, ...Array<Group>])
)

const program = Command.run(stepagent, { version: "0.1.0" }).pipe(
  Effect.catchCause((cause) =>
    Effect.sync(() => {
      process.exitCode = 1
      const line = UserError.lineOf(cause)
      if (line !== undefined) {
        if (line !== "") process.stderr.write(`stepagent: ${line}\n`)
      } else {
        process.stderr.write(`stepagent: internal error\n${Cause.pretty(cause)}\n`)
      }
    })
  ),
  Effect.provide([NodeServices.layer, StderrLogger.layer])
)

// Started by a cluster worker (src/cluster/Worker.ts) with an IPC channel: when that worker goes, even killed, stop as
// on SIGTERM (a run stops cleanly and resumes later), since the cluster hands the unit to another worker.
if (process.send !== undefined) {
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"))
  process.channel?.unref() // the channel alone must not keep the command alive once its work is done
}

NodeRuntime.runMain(program, { disableErrorReporting: true })
