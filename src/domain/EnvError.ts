import { Schema } from "effect"

/** Why an environment episode could not go on. */
export const EnvErrorReason = Schema.Literals([
  "UnknownTask", // the task id is not `<split>:<index>` or is out of range
  "NotReset", // step() before reset()
  "Timeout", // a remote environment did not answer in time
  "Unreachable", // connection refused / reset, after retries
  "ServerError", // a remote environment answered 5xx, after retries
  "BadResponse", // a remote environment answered something that is not its protocol
  "SessionLost", // a remote environment no longer knows the episode's session (404: restarted, or expired it)
  "Crashed" // anything else that ended the episode
])
export type EnvErrorReason = typeof EnvErrorReason.Type

export class EnvError extends Schema.TaggedError<EnvError>()("EnvError", {
  reason: EnvErrorReason,
  env: Schema.String,
  message: Schema.String
}) {}
