/**
 * `stepagent data export <file.arrows> --format eto|agentgym --out <file.json|file.jsonl>`
 *
 * Streams an Arrow trajectory file back into conversation records: a JSON array when `--out` ends with
 * `.json`, JSONL when it ends with `.jsonl` (or `.ndjson`). Prints one JSON line
 * `{"written":N,"out":"<path>","format":"eto","layout":"jsonl"}`.
 */
import { Console, Effect, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as AgentGymFormat from "../data/AgentGymFormat.ts"
import * as EtoFormat from "../data/EtoFormat.ts"
import * as JsonRecords from "../data/JsonRecords.ts"
import * as TrajectoryArrow from "../data/TrajectoryArrow.ts"
import * as DataImportCommand from "./DataImportCommand.ts"
import * as UserError from "./UserError.ts"

export type Format = "eto" | "agentgym"

export interface ExportOptions {
  readonly input: string
  readonly format: Format
  readonly out: string
  readonly layout: JsonRecords.Layout
}

export interface ExportSummary {
  readonly written: number
  readonly out: string
  readonly format: Format
  readonly layout: JsonRecords.Layout
}

const encoderOf = (format: Format): (t: Trajectory) => unknown => format === "eto" ? EtoFormat.encode : AgentGymFormat.encode

/** Exports the trajectories of `input` to `out`; the summary the command prints. */
export const exportFile = Effect.fn("DataExport.exportFile")(function*(options: ExportOptions) {
  const encode = encoderOf(options.format)
  const written = yield* TrajectoryArrow.read(options.input).pipe(
    Stream.map(encode),
    JsonRecords.write(options.out, options.layout)
  )
  const summary: ExportSummary = { written, out: options.out, format: options.format, layout: options.layout }
  return summary
})

export const command = Command.make("export", {
  input: Argument.String("file").pipe(Argument.withDescription("A trajectory .arrows file")),
  format: Flag.Literals("format", ["eto", "agentgym"]).pipe(Flag.withDescription("Record format to write: eto (ETO/IPR) or agentgym")),
  out: Flag.String("out").pipe(Flag.withDescription("Output file: .json writes a JSON array, .jsonl one record a line"))
}, (config) =>
  Effect.gen(function*() {
    const layout = JsonRecords.layoutOfPath(config.out)
    if (layout === undefined) return yield* UserError.fail(`--out: ${config.out} must end with .json or .jsonl`)
    if (config.out === config.input) return yield* UserError.fail(`--out: ${config.out} is the input file`)
    DataImportCommand.favourMemory()
    const summary = yield* exportFile({ input: config.input, format: config.format, out: config.out, layout })
    yield* Console.log(JSON.stringify(summary))
  })).pipe(Command.withDescription("Export a trajectory .arrows file as ETO/IPR or AgentGym conversations (JSON or JSONL)"))
