/**
 * Importing a JSON array or JSONL file of conversation records (ETO/IPR, AgentGym or chat messages), or
 * Parquet files of chat records (ParquetRecords.ts), into an Arrow trajectory file, streaming: records that fail to decode go to `<out>.rejects.jsonl` with their index
 * and reason, so read == written + rejected. The output and the rejects file appear together at the
 * end (each written to a temporary file first). The command is src/cli/DataImportCommand.ts.
 */
import * as NodeFs from "node:fs"
import { Effect, Result, Stream } from "effect"
import { DataError } from "../domain/DataError.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as AgentGymFormat from "./AgentGymFormat.ts"
import * as ChatFormat from "./ChatFormat.ts"
import * as Conversation from "./Conversation.ts"
import * as EtoFormat from "./EtoFormat.ts"
import * as JsonRecords from "./JsonRecords.ts"
import * as ParquetRecords from "./ParquetRecords.ts"
import * as Rejects from "./Rejects.ts"
import * as TrajectoryArrow from "./TrajectoryArrow.ts"

export type Format = "eto" | "agentgym" | "chat" | "parquet"

export interface ImportOptions {
  readonly input: string
  readonly format: Format
  readonly env: string
  readonly out: string
  readonly layout?: JsonRecords.Layout | undefined
  readonly maxRecordBytes?: number | undefined
  readonly maxDepth?: number | undefined
  /** Reject (rather than warn about) records whose acknowledgement turn is an action. */
  readonly strict?: boolean | undefined
}

export interface ImportSummary {
  readonly read: number
  readonly written: number
  readonly rejected: number
  readonly rejects: string
  /** Records written with a warning: their turn 1 (message 1) looks like an action, not an acknowledgement. */
  readonly warnings: number
  /** The index of the first such record, to look at. */
  readonly firstWarning?: number
  /** Parquet only: the files read (a directory or a pattern gives several). */
  readonly files?: number
}

/** A format's decoder: a record (the `index`-th of its file) into a trajectory of environment `env`, or a reason. */
const decoderOf = (format: Format): (value: unknown, env: string, index: number) => Result.Result<Trajectory, string> =>
  format === "eto" ? EtoFormat.decode : format === "agentgym" ? AgentGymFormat.decode : ChatFormat.decode // Parquet rows are chat records

/** Where the acknowledgement sits, as the format's reasons name it: `turn 1` of `conversations`, `message 1` of `messages`. */
export const ackPlace = (format: Format): string => (format === "eto" || format === "agentgym" ? "turn 1" : "message 1")

const checkInput = (path: string) =>
  Effect.tryPromise({
    try: async () => {
      const stat = await NodeFs.promises.stat(path)
      if (stat.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" })
      return stat
    },
    catch: (e) => JsonRecords.ioError(path, e)
  })

/**
 * Refuses an output (or its rejects file) that is the input itself, however it is spelt: `./x`, an
 * absolute path, a symbolic or a hard link all name the same device and inode.
 */
const checkNotInput = (input: NodeFs.Stats, inputPath: string, paths: ReadonlyArray<readonly [string, string]>) =>
  Effect.forEach(paths, ([flag, path]) =>
    // a path that cannot be statted (not there yet) is not the input
    Effect.promise(() => NodeFs.promises.stat(path).then((s) => s, () => undefined)).pipe(Effect.flatMap((s) =>
      s !== undefined && s.dev === input.dev && s.ino === input.ino
        ? Effect.fail(new DataError({ reason: "Io", path, message: `${flag}: ${path} is the input file ${inputPath}; choose another output` }))
        : Effect.void
    )), { discard: true })

/** The records of the input, and the files it names: JSON records of one file, or the rows of Parquet files. */
const recordsOf = (options: ImportOptions) =>
  Effect.gen(function*() {
    if (options.format !== "parquet") {
      const input = yield* checkInput(options.input)
      const records = JsonRecords.read(options.input, {
        layout: options.layout,
        maxRecordBytes: options.maxRecordBytes,
        maxDepth: options.maxDepth
      })
      return { inputs: [[options.input, input] as const], records, files: undefined }
    }
    const paths = yield* ParquetRecords.files(options.input)
    const inputs = yield* Effect.forEach(paths, (path) => Effect.map(checkInput(path), (stat) => [path, stat] as const))
    const checked = yield* ParquetRecords.check(paths)
    return { inputs, records: ParquetRecords.read(checked), files: paths.length }
  })

/** Imports `input` into `out` (and its rejects file); the summary the command prints. */
export const importFile = Effect.fn("Import.importFile")(function*(options: ImportOptions) {
  const { inputs, records, files } = yield* recordsOf(options)
  for (const [path, stat] of inputs) {
    yield* checkNotInput(stat, path, [["--out", options.out], ["--out (its rejects file)", Rejects.pathFor(options.out)]])
  }
  const decode = decoderOf(options.format)
  return yield* Effect.scoped(Effect.gen(function*() {
    const rejects = yield* Rejects.open(Rejects.pathFor(options.out))
    let read = 0
    let warnings = 0
    let firstWarning: number | undefined
    const trajectories = records.pipe(
      Stream.filterMapEffect((item): Effect.Effect<Result.Result<Trajectory, void>, DataError> => {
        read++
        if (item._tag === "Reject") return Effect.as(rejects.write(item), Result.failVoid)
        const decoded = decode(item.value, options.env, item.index)
        if (Result.isFailure(decoded)) {
          return Effect.as(rejects.write({ index: item.index, reason: decoded.failure, record: item.value }), Result.failVoid)
        }
        if (decoded.success.ack !== undefined && Conversation.ackLooksLikeAction(decoded.success.ack)) {
          if (options.strict === true) {
            const reason = `${ackPlace(options.format)} is an action (it has an Action: line), not the acknowledgement: the prompt + acknowledgement pair is missing`
            return Effect.as(rejects.write({ index: item.index, reason, record: item.value }), Result.failVoid)
          }
          warnings++
          firstWarning ??= item.index
        }
        return Effect.succeed(Result.succeed(decoded.success))
      })
    )
    const written = yield* trajectories.pipe(TrajectoryArrow.write(options.out))
    yield* rejects.commit
    const summary: ImportSummary = {
      read,
      written,
      rejected: rejects.count(),
      rejects: rejects.path,
      warnings,
      ...(firstWarning === undefined ? {} : { firstWarning }),
      ...(files === undefined ? {} : { files })
    }
    return summary
  }))
})
