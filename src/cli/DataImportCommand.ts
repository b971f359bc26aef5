/**
 * `stepagent data import <file> --format eto|agentgym --env <name> --out <file.arrows> [--strict]`
 *
 * Streams a JSON array or JSONL file of conversation records into an Arrow trajectory file. Records
 * that fail to decode go to `<out>.rejects.jsonl` with their index and reason; prints one JSON line
 * `{"read":N,"written":W,"rejected":R,"rejects":"<path>","warnings":K}` with read == written + rejected.
 * The output and the rejects file appear together at the end (each written to a temporary file first).
 */
import * as NodeFs from "node:fs"
import * as NodeV8 from "node:v8"
import { Console, Effect, Option, Result, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { DataError } from "../domain/DataError.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as AgentGymFormat from "../data/AgentGymFormat.ts"
import * as Conversation from "../data/Conversation.ts"
import * as EtoFormat from "../data/EtoFormat.ts"
import * as JsonRecords from "../data/JsonRecords.ts"
import * as Rejects from "../data/Rejects.ts"
import * as TrajectoryArrow from "../data/TrajectoryArrow.ts"
import * as UserError from "./UserError.ts"

export type Format = "eto" | "agentgym"

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
  /** Records written with a warning: their turn 1 looks like an action, not an acknowledgement. */
  readonly warnings: number
  /** The index of the first such record, to look at. */
  readonly firstWarning?: number
}

const decoderOf = (format: Format): (value: unknown, env: string) => Result.Result<Trajectory, string> =>
  format === "eto" ? EtoFormat.decode : AgentGymFormat.decode

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

/** Imports `input` into `out` (and its rejects file); the summary the command prints. */
export const importFile = Effect.fn("DataImport.importFile")(function*(options: ImportOptions) {
  const input = yield* checkInput(options.input)
  yield* checkNotInput(input, options.input, [["--out", options.out], ["--out (its rejects file)", Rejects.pathFor(options.out)]])
  const decode = decoderOf(options.format)
  return yield* Effect.scoped(Effect.gen(function*() {
    const rejects = yield* Rejects.open(Rejects.pathFor(options.out))
    let read = 0
    let warnings = 0
    let firstWarning: number | undefined
    const trajectories = JsonRecords.read(options.input, {
      layout: options.layout,
      maxRecordBytes: options.maxRecordBytes,
      maxDepth: options.maxDepth
    }).pipe(
      Stream.filterMapEffect((item): Effect.Effect<Result.Result<Trajectory, void>, DataError> => {
        read++
        if (item._tag === "Reject") return Effect.as(rejects.write(item), Result.failVoid)
        const decoded = decode(item.value, options.env)
        if (Result.isFailure(decoded)) {
          return Effect.as(rejects.write({ index: item.index, reason: decoded.failure, record: item.value }), Result.failVoid)
        }
        if (decoded.success.ack !== undefined && Conversation.ackLooksLikeAction(decoded.success.ack)) {
          if (options.strict === true) {
            const reason = "turn 1 is an action (it has an Action: line), not the acknowledgement: the prompt + acknowledgement pair is missing"
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
      ...(firstWarning === undefined ? {} : { firstWarning })
    }
    return summary
  }))
})

/**
 * Streaming a file of any size makes far more short-lived garbage than it keeps. V8's default heap
 * growth lets old-space garbage reach about 4x the live heap before collecting (peak RSS ~470 MB on a
 * 260 MB file, growing with the file); favouring size keeps the peak flat (~240 MB) for a modest cost
 * in speed (test/bench/DataImport.bench.ts). Called by the streaming data commands, once they run.
 */
export const favourMemory = (): void => NodeV8.setFlagsFromString("--optimize-for-size")

const validateFlags = (env: string, maxRecordBytes: number, maxDepth: number) => {
  if (env.trim() === "") return UserError.fail("--env: must name an environment (e.g. --env webshop)")
  if (maxRecordBytes < 1) return UserError.fail(`--max-record-bytes: must be at least 1, got ${maxRecordBytes}`)
  if (maxDepth < 1) return UserError.fail(`--max-depth: must be at least 1, got ${maxDepth}`)
  return Effect.void
}

export const command = Command.make("import", {
  input: Argument.String("file").pipe(Argument.withDescription("A JSON array file or JSONL of conversation records")),
  format: Flag.Literals("format", ["eto", "agentgym"]).pipe(
    Flag.withDescription("eto: ETO/IPR {id, conversations, reward?}; agentgym: {item_id, conversations (with loss), reward?, success?}")
  ),
  env: Flag.String("env").pipe(Flag.withDescription("Environment name stored in every trajectory (webshop, alfworld, ...)")),
  out: Flag.String("out").pipe(Flag.withDescription("Output Arrow file (.arrows); rejects go to <out>.rejects.jsonl")),
  // Lenient by default: the rejects file keeps every failed record for inspection.
  strict: Flag.Boolean("strict").pipe(
    Flag.withDefault(false),
    Flag.withDescription("Exit non-zero when any record is rejected; also reject records whose acknowledgement turn is an action")
  ),
  inputFormat: Flag.Literals("input-format", ["json", "jsonl"]).pipe(
    Flag.optional,
    Flag.withDescription("json (one array) or jsonl (one record a line); default: detected from the first byte")
  ),
  maxRecordBytes: Flag.Int("max-record-bytes").pipe(
    // The reader's default (64 MiB): far above any real trajectory, small enough to bound memory.
    Flag.withDefault(JsonRecords.defaultMaxRecordBytes),
    Flag.withDescription("Reject any record larger than this many bytes")
  ),
  maxDepth: Flag.Int("max-depth").pipe(
    // The reader's default (100): conversation records are ~4 levels deep; deeper input is hostile or broken.
    Flag.withDefault(JsonRecords.defaultMaxDepth),
    Flag.withDescription("Reject any record nested deeper than this many arrays and objects")
  )
}, (config) =>
  Effect.gen(function*() {
    yield* validateFlags(config.env, config.maxRecordBytes, config.maxDepth)
    favourMemory()
    const summary = yield* importFile({
      input: config.input,
      format: config.format,
      env: config.env,
      out: config.out,
      layout: Option.getOrUndefined(config.inputFormat),
      maxRecordBytes: config.maxRecordBytes,
      maxDepth: config.maxDepth,
      strict: config.strict
    })
    yield* Console.log(JSON.stringify(summary))
    if (summary.warnings > 0) {
      yield* Console.error(
        `stepagent: warning: ${summary.warnings} record${summary.warnings === 1 ? "" : "s"} (first: index ${summary.firstWarning}) ` +
          "have an action at turn 1 where the acknowledgement belongs (the prompt + acknowledgement pair is missing); " +
          "their first action was read as the acknowledgement. --strict rejects them."
      )
    }
    if (config.strict && summary.rejected > 0) {
      return yield* UserError.fail(`${summary.rejected} of ${summary.read} records rejected (--strict); see ${summary.rejects}`)
    }
  })).pipe(Command.withDescription("Import ETO/IPR or AgentGym conversations (JSON or JSONL) into a trajectory .arrows file"))
