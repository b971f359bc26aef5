import { Schema } from "effect"

/** Why a report could not be made: a chart failed to render, or the page or a figure could not be written. */
export const ReportErrorReason = Schema.Literals(["Render", "Write"])
export type ReportErrorReason = typeof ReportErrorReason.Type

/** A report could not be made: `message` is one line naming the chart or the file. */
export class ReportError extends Schema.TaggedError<ReportError>()("ReportError", {
  reason: ReportErrorReason,
  path: Schema.String,
  message: Schema.String
}) {}
