/**
 * A test entry for `report` and `table` alone, as main.ts runs them (same error printing, exit code 1
 * on a user error), until the lead wires them into src/cli/main.ts:
 * `npx node test/pipeline/Cli.ts report <run-dir>...`, `npx node test/pipeline/Cli.ts table <run-dir>... --json`.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect } from "effect"
import { Command } from "effect/cli"
import * as ReportCommand from "../../src/cli/ReportCommand.ts"
import * as TableCommand from "../../src/cli/TableCommand.ts"
import * as UserError from "../../src/cli/UserError.ts"

const stepagent = Command.make("stepagent").pipe(Command.withSubcommands([ReportCommand.command, TableCommand.command]))

const program = Command.run(stepagent, { version: "test" }).pipe(
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
