import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect } from "effect"
import { Command } from "effect/cli"
import * as BackendCommand from "./BackendCommand.ts"
import * as DataCommand from "./DataCommand.ts"
import * as EnvCommand from "./EnvCommand.ts"
import * as ModelCommand from "./ModelCommand.ts"
import * as ReportCommand from "./ReportCommand.ts"
import * as TableCommand from "./TableCommand.ts"
import * as TokenizerCommand from "./TokenizerCommand.ts"
import * as UserError from "./UserError.ts"

const stepagent = Command.make("stepagent").pipe(
  Command.withDescription("StepAgent: step-wise RL for LLM agent policies (data, environments, models, pipelines)"),
  Command.withSubcommands([
    DataCommand.command,
    TokenizerCommand.command,
    EnvCommand.command,
    BackendCommand.command,
    ModelCommand.command,
    ReportCommand.command,
    TableCommand.command
  ])
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
  Effect.provide(NodeServices.layer)
)

NodeRuntime.runMain(program, { disableErrorReporting: true })
