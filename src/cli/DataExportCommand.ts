/**
 * `stepagent data export <file.arrows> --format eto|agentgym|chat --out <file.json|file.jsonl>`
 *
 * Streams an Arrow trajectory file back into conversation records: a JSON array when `--out` ends with
 * `.json`, JSONL when it ends with `.jsonl` (or `.ndjson`). Prints one JSON line
 * `{"written":N,"out":"<path>","format":"eto","layout":"jsonl"}`.
 */
import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Export from "../data/Export.ts"
import * as JsonRecords from "../data/JsonRecords.ts"
import * as Heap from "./Heap.ts"
import * as UserError from "./UserError.ts"

export const command = Command.make("export", {
  input: Argument.String("file").pipe(Argument.withDescription("A trajectory .arrows file")),
  format: Flag.Literals("format", ["eto", "agentgym", "chat"]).pipe(
    Flag.withDescription("Record format to write: eto (ETO/IPR), agentgym, or chat ({id, messages: [{role, content}], reward, success, env, task_id})")
  ),
  out: Flag.String("out").pipe(Flag.withDescription("Output file: .json writes a JSON array, .jsonl one record a line"))
}, (config) =>
  Effect.gen(function*() {
    const layout = JsonRecords.layoutOfPath(config.out)
    if (layout === undefined) return yield* UserError.fail(`--out: ${config.out} must end with .json or .jsonl`)
    if (config.out === config.input) return yield* UserError.fail(`--out: ${config.out} is the input file`)
    Heap.favourMemory()
    const summary = yield* Export.exportFile({ input: config.input, format: config.format, out: config.out, layout })
    yield* Console.log(JSON.stringify(summary))
  })).pipe(Command.withDescription("Export a trajectory .arrows file as ETO/IPR, AgentGym or chat-message conversations (JSON or JSONL)"))
