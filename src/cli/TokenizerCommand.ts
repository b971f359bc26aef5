import { Command } from "effect/cli"
import * as TokenizerTrainCommand from "./TokenizerTrainCommand.ts"

export const command = Command.make("tokenizer").pipe(
  Command.withDescription("Train and use the byte-level BPE tokenizer"),
  Command.withSubcommands([TokenizerTrainCommand.command])
)
