/**
 * Exporting an Arrow trajectory file back into conversation records (ETO/IPR, AgentGym or chat messages), streaming,
 * as a JSON array or JSONL, or as chat records in Parquet (ParquetWrite.ts). The command is src/cli/DataExportCommand.ts.
 */
import { Effect, Stream } from "effect"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as AgentGymFormat from "./AgentGymFormat.ts"
import * as ChatFormat from "./ChatFormat.ts"
import * as EtoFormat from "./EtoFormat.ts"
import * as JsonRecords from "./JsonRecords.ts"
import * as ParquetWrite from "./ParquetWrite.ts"
import * as TrajectoryArrow from "./TrajectoryArrow.ts"

export type Format = "eto" | "agentgym" | "chat" | "parquet"

/** The JSON formats: the other, `parquet`, is a file layout of its own. */
export type JsonFormat = Exclude<Format, "parquet">

export type ExportOptions =
  | {
    readonly input: string
    readonly format: JsonFormat
    readonly out: string
    readonly layout: JsonRecords.Layout
  }
  | { readonly input: string; readonly format: "parquet"; readonly out: string }

export interface ExportSummary {
  readonly written: number
  readonly out: string
  readonly format: Format
  /** JSON formats only: a JSON array or JSONL. */
  readonly layout?: JsonRecords.Layout
}

const encoderOf = (format: JsonFormat): (t: Trajectory) => unknown =>
  format === "eto" ? EtoFormat.encode : format === "agentgym" ? AgentGymFormat.encode : ChatFormat.encode

/** Exports the trajectories of `input` to `out`; the summary the command prints. */
export const exportFile = Effect.fn("Export.exportFile")(function*(options: ExportOptions) {
  if (options.format === "parquet") {
    const written = yield* TrajectoryArrow.read(options.input).pipe(ParquetWrite.write(options.out))
    const summary: ExportSummary = { written, out: options.out, format: options.format }
    return summary
  }
  const encode = encoderOf(options.format)
  const written = yield* TrajectoryArrow.read(options.input).pipe(
    Stream.map(encode),
    JsonRecords.write(options.out, options.layout)
  )
  const summary: ExportSummary = { written, out: options.out, format: options.format, layout: options.layout }
  return summary
})
