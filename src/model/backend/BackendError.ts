import { Schema } from "effect"

/** Why a tensor backend could not be used. */
export const BackendErrorReason = Schema.Literals([
  "BadOption", // a --backend / --threads / --matmul flag or STEPAGENT_* variable has a value that is not allowed
  "Missing", // the backend asked for needs an optional package that is not installed or does not load
  "NoGpu", // tensorflow-gpu was asked for: the package loads but TensorFlow sees no GPU
  "InitFailed", // the backend's package is there but tfjs could not start it
  "Conflict" // tfjs is already running another backend in this process (it is global state)
])
export type BackendErrorReason = typeof BackendErrorReason.Type

/** A tensor backend could not be used: `message` is one line naming the backend (or flag) and the problem. */
export class BackendError extends Schema.TaggedError<BackendError>()("BackendError", {
  reason: BackendErrorReason,
  backend: Schema.String,
  message: Schema.String
}) {}
