/**
 * `stepagent data export <file.arrows> --format eto|agentgym|chat|parquet --out <file.json|file.jsonl|file.parquet>`
 *
 * Streams an Arrow trajectory file back into conversation records: a JSON array when `--out` ends with
 * `.json`, JSONL when it ends with `.jsonl` (or `.ndjson`); with `--format parquet`, chat records in a
 * Parquet file (`--out` ending with `.parquet`). Prints one JSON line
 * `{"written":N,"out":"<path>","format":"eto","layout":"jsonl"}` (no layout for Parquet).
 */
import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Export from "../data/Export.ts"
import * as JsonRecords from "../data/JsonRecords.ts"
import * as Heap from "./Heap.ts"
import * as UserError from "./UserError.ts"

export const command = Command.make("export", {
  input: Argument.String("file").pipe(Argument.withDescription("A trajectory .arrows file")),
  format: Flag.Literals("format", ["eto", "agentgym", "chat", "parquet"]).pipe(
    Flag.withDescription(
      "Record format to write: eto (ETO/IPR), agentgym, chat ({id, messages: [{role, content}], reward, success, env, task_id}), " +
        "or parquet (the chat records as Parquet columns)"
    )
  ),
  out: Flag.String("out").pipe(Flag.withDescription("Output file: .json writes a JSON array, .jsonl one record a line; .parquet for --format parquet"))
}, (config) =>
  Effect.gen(function*() {
    if (config.out === config.input) return yield* UserError.fail(`--out: ${config.out} is the input file`)
    if (config.format === "parquet") {
      if (!config.out.endsWith(".parquet")) return yield* UserError.fail(`--out: ${config.out} must end with .parquet (--format parquet)`)
      Heap.favourMemory()
      const summary = yield* Export.exportFile({ input: config.input, format: "parquet", out: config.out })
      return yield* Console.log(JSON.stringify(summary))
    }
    const layout = JsonRecords.layoutOfPath(config.out)
    if (layout === undefined) {
      const hint = config.out.endsWith(".parquet") ? " (for Parquet, give --format parquet)" : ""
      return yield* UserError.fail(`--out: ${config.out} must end with .json or .jsonl${hint}`)
    }
    Heap.favourMemory()
    const summary = yield* Export.exportFile({ input: config.input, format: config.format, out: config.out, layout })
    yield* Console.log(JSON.stringify(summary))
  })).pipe(
    Command.withDescription("Export a trajectory .arrows file as ETO/IPR, AgentGym or chat-message conversations (JSON or JSONL), or chat records in Parquet")
  )
