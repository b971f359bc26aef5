/**
 * The errors of Arrow IPC file IO: every one a `DataError` whose one-line message names the file
 * (docs/data-format.md, "Errors").
 */
import { DataError } from "../domain/DataError.ts"

const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim()

const errorText = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message
  if (typeof cause === "object" && cause !== null && "value" in cause) return errorText((cause as { value: unknown }).value)
  return String(cause)
}

const codeOf = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof (cause as { code: unknown }).code === "string"
    ? (cause as { code: string }).code
    : undefined

/** A system error (ENOENT, EACCES, EISDIR, ENOSPC...) as a DataError naming the file. */
export const ioError = (path: string, cause: unknown): DataError => {
  const code = codeOf(cause)
  if (code === "ENOENT") return new DataError({ reason: "NotFound", path, message: `${path}: no such file` })
  if (code === "EISDIR") return new DataError({ reason: "Io", path, message: `${path}: is a directory, not a file` })
  return new DataError({ reason: "Io", path, message: `${path}: ${oneLine(errorText(cause))}` })
}

/** An error raised while decoding IPC bytes: a system error stays Io, anything else means the bytes are not valid Arrow. */
export const readError = (path: string, cause: unknown): DataError =>
  cause instanceof DataError
    ? cause
    : codeOf(cause) !== undefined
    ? ioError(path, cause)
    : new DataError({ reason: "NotArrow", path, message: `${path}: not a valid Arrow IPC stream (truncated or corrupt: ${oneLine(errorText(cause))})` })

/** The file is Arrow but not of the expected layout. */
export const wrongSchema = (path: string, problem: string): DataError =>
  new DataError({ reason: "WrongSchema", path, message: `${path}: wrong schema: ${problem}` })

/** The bytes are not an Arrow IPC stream or file (`why` says what they look like). */
export const notArrow = (path: string, why: string): DataError =>
  new DataError({ reason: "NotArrow", path, message: `${path}: not an Arrow IPC stream${why}` })
