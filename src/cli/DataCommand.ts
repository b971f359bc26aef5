import { Command } from "effect/cli"
import * as DataExportCommand from "./DataExportCommand.ts"
import * as DataGenerateCommand from "./DataGenerateCommand.ts"
import * as DataImportCommand from "./DataImportCommand.ts"
import * as DataInspectCommand from "./DataInspectCommand.ts"

export const command = Command.make("data").pipe(
  Command.withDescription("Import, export, inspect and generate trajectory datasets (.arrows)"),
  Command.withSubcommands([DataImportCommand.command, DataExportCommand.command, DataInspectCommand.command, DataGenerateCommand.command])
)
