import { PlatformError } from "effect"

/**
 * What the system said about a failed file operation. The `FileSystem` service wraps Node's error in a
 * `PlatformError` whose own message is Effect's (`Unknown: FileSystem.writeFile (/run/metrics.jsonl)`); the
 * project's one-line errors keep the system's words (`ENOSPC: no space left on device, write`) and branch on its
 * errno code (`ENOENT`), as they did when they called node:fs themselves.
 */

/** The error the system raised: a `PlatformError`'s cause when it has one, else the error itself. */
const systemCause = (e: unknown): unknown =>
  PlatformError.isPlatformError(e) && e.reason.cause !== undefined ? e.reason.cause : e

/** The system's message (`ENOSPC: no space left on device, write`); any other error's own message. */
export const of = (e: unknown): string => {
  const c = systemCause(e)
  return c instanceof Error ? c.message : e instanceof Error ? e.message : String(e)
}

/** The errno code (`ENOENT`, `EACCES`, ...) of a failed file operation, when the system gave one. */
export const code = (e: unknown): string | undefined => {
  const c = systemCause(e)
  return typeof c === "object" && c !== null && "code" in c && typeof c.code === "string" ? c.code : undefined
}
