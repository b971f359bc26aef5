import { Schema } from "effect"

/** Why a pipeline could not be run or resumed. `message` is one line that names the file, field or run. */
export const PipelineErrorReason = Schema.Literals([
  "NotFound", // the pipeline script or the run directory does not exist
  "BadScript", // the script does not load or export a pipeline
  "InvalidConfig", // a field is wrong, unknown or missing; an unknown stage
  "MissingDataset", // a dataset named by the pipeline does not exist
  "IncompatibleCheckpoint", // a checkpoint does not fit the model/tokenizer the pipeline asks for
  "NothingToResume", // the run is complete
  "NotExact", // a resume could not reproduce the uninterrupted run (other backend, changed files)
  "RunDirectory" // the run directory cannot be created or written
])
export type PipelineErrorReason = typeof PipelineErrorReason.Type

export class PipelineError extends Schema.TaggedError<PipelineError>()("PipelineError", {
  reason: PipelineErrorReason,
  message: Schema.String
}) {}

/**
 * Effect Schema's multi-line issue text ("Expected number\n  at [\"stages\"][1][\"n\"]") as one line:
 * `stages[1].n: expected number`. Several issues are joined with "; ".
 */
export const schemaIssueLine = (text: string): string => {
  const lines = text.split("\n")
  const parts: Array<string> = []
  for (let i = 0; i < lines.length; i++) {
    const what = lines[i]!.trim()
    if (what === "" || what.startsWith("at [")) continue
    const next = lines[i + 1]?.trim() ?? ""
    if (next.startsWith("at [")) {
      const path = next.slice(3).replace(/\["([^"]*)"\]/g, ".$1").replace(/^\./, "")
      parts.push(`${path}: ${what.charAt(0).toLowerCase()}${what.slice(1)}`)
      i++
    } else {
      parts.push(what.charAt(0).toLowerCase() + what.slice(1))
    }
  }
  return parts.join("; ")
}
