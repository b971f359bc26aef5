import { Effect, FileSystem, type PlatformError, Schema } from "effect"
import * as SystemMessage from "../fault/SystemMessage.ts"
import { PipelineError, schemaIssueLine } from "./PipelineError.ts"

/**
 * Writing the run directory's files through the `FileSystem` service, and its failures as one-line
 * `PipelineError`s (reason RunDirectory) that keep the system's own words (`ENOSPC: no space left on device`).
 */

/** The system's message of a file-system failure (`ENOSPC: no space left on device, write`), one line. */
const detail = (e: PlatformError.PlatformError): string => SystemMessage.of(e).split("\n")[0]!

/** `<path>: <the system's message>`. */
export const ioError = (path: string) => (e: PlatformError.PlatformError): PipelineError =>
  new PipelineError({ reason: "RunDirectory", message: `${path}: ${detail(e)}` })

/** `<path>: cannot write (<the system's message>)`. */
export const writeError = (path: string) => (e: PlatformError.PlatformError): PipelineError =>
  new PipelineError({ reason: "RunDirectory", message: `${path}: cannot write (${detail(e)})` })

/**
 * Writes a file atomically: a reader sees the old contents or the new, never a part (temporary file, fsync,
 * rename). A write the file system refuses (a full disk) removes its temporary file and leaves the old contents.
 */
export const writeAtomic = (path: string, contents: string): Effect.Effect<void, PipelineError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const tmp = `${path}.tmp-${process.pid}`
    yield* Effect.scoped(Effect.gen(function*() {
      const file = yield* fs.open(tmp, { flag: "w" })
      yield* file.writeAll(new TextEncoder().encode(contents)) // every byte (a write may take a part)
      yield* file.sync
    })).pipe(
      Effect.andThen(fs.rename(tmp, path)),
      Effect.tapError(() => Effect.ignore(fs.remove(tmp, { force: true }))),
      Effect.mapError(writeError(path))
    )
  }).pipe(Effect.uninterruptible)

/**
 * Writes a run file as JSON (two-space indent, a final newline), atomically, encoded with its Schema: the one
 * it is read back with (src/report/RunDir.ts). A value the Schema refuses (a non-finite number) fails without writing.
 */
export const writeJson = <S extends Schema.Top & { readonly EncodingServices: never }>(
  path: string,
  schema: S,
  value: S["Type"]
): Effect.Effect<void, PipelineError, FileSystem.FileSystem> =>
  Schema.encodeEffect(schema)(value).pipe(
    Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: `${path}: cannot write (${schemaIssueLine(e.message)})` })),
    Effect.flatMap((json) => writeAtomic(path, JSON.stringify(json, null, 2) + "\n"))
  )

/** Parses a run file's JSON; `<path>: <the parser's message>` when it is not JSON. */
export const parseJson = (path: string, text: string, message?: string): Effect.Effect<unknown, PipelineError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (e) => new PipelineError({ reason: "RunDirectory", message: `${path}: ${message ?? (e instanceof Error ? e.message.split("\n")[0] : String(e))}` })
  })
