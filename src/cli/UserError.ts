import { Cause, Effect } from "effect"
import { CliError } from "effect/cli"

/**
 * Errors that are the user's to fix (a bad path, a wrong flag, bad data) carry a one-line `message`.
 * The CLI prints that line to stderr and exits non-zero: never a stack trace.
 */
export interface HasMessage {
  readonly _tag: string
  readonly message: string
}

const isTagged = (u: unknown): u is HasMessage =>
  typeof u === "object" && u !== null && "_tag" in u && "message" in u &&
  typeof (u as { _tag: unknown })._tag === "string" && typeof (u as { message: unknown }).message === "string"

const withCause = (tag: string, cause: unknown): string =>
  cause instanceof Error && cause.message !== "" ? `${tag}: ${cause.message.split("\n")[0]}` : tag

/** The one line shown to the user for a failure cause ("" when already shown), or undefined for a defect (a bug: keep the trace). */
export const lineOf = (cause: Cause.Cause<unknown>): string | undefined => {
  for (const reason of cause.reasons) {
    if (Cause.isFailReason(reason)) {
      const e = reason.error
      // Parse errors and help requests were already presented by the CLI with the usage text.
      if (CliError.isCliError(e)) return ""
      // A tagged error without a message (Effect's ServeError, say) is named rather than printed as nothing.
      if (isTagged(e)) return e.message !== "" ? e.message : withCause(e._tag, (e as { readonly cause?: unknown }).cause)
      if (typeof e === "string") return e
      if (e instanceof Error) return e.message
      return String(e)
    }
  }
  return undefined
}

/** A plain user error raised by a command (a flag combination that makes no sense, say). */
export class CommandError extends Error {
  readonly _tag = "CommandError"
}

export const fail = (message: string): Effect.Effect<never, CommandError> => Effect.fail(new CommandError(message))
