import { Schema } from "effect"

/** Why a checkpoint could not be saved or loaded. */
export const CheckpointErrorReason = Schema.Literals([
  "NotFound", // no checkpoint at the path
  "Corrupt", // unreadable manifest, missing file, size or checksum mismatch
  "ConfigMismatch", // a model's config differs from the one expected
  "TokenizerMismatch", // the tokenizer hash differs from the one expected
  "Io" // the file system refused (permissions, disk full)
])
export type CheckpointErrorReason = typeof CheckpointErrorReason.Type

/** `message` is one line naming the checkpoint directory and the problem. */
export class CheckpointError extends Schema.TaggedError<CheckpointError>()("CheckpointError", {
  reason: CheckpointErrorReason,
  path: Schema.String,
  message: Schema.String
}) {}
