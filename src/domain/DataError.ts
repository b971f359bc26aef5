import { Schema } from "effect"

/** Why a data file could not be read or written. */
export const DataErrorReason = Schema.Literals(["NotFound", "NotArrow", "NotParquet", "WrongSchema", "Io", "Decode", "Encode"])
export type DataErrorReason = typeof DataErrorReason.Type

/** A data file could not be used: `message` is one line that names the file and the problem. */
export class DataError extends Schema.TaggedError<DataError>()("DataError", {
  reason: DataErrorReason,
  path: Schema.String,
  message: Schema.String
}) {}
