import { Command } from "effect/cli"
import * as EnvExpertCommand from "./EnvExpertCommand.ts"
import * as EnvPlayCommand from "./EnvPlayCommand.ts"
import * as EnvServeCommand from "./EnvServeCommand.ts"

export const command = Command.make("env").pipe(
  Command.withDescription("Built-in environments: expert actions, interactive play, AgentGym-compatible HTTP server"),
  Command.withSubcommands([EnvExpertCommand.command, EnvPlayCommand.command, EnvServeCommand.command])
)
