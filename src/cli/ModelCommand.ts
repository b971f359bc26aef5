import { Command } from "effect/cli"
import * as ModelInfoCommand from "./ModelInfoCommand.ts"

export const command = Command.make("model").pipe(
  Command.withDescription("Policy model presets and information"),
  Command.withSubcommands([ModelInfoCommand.command])
)
