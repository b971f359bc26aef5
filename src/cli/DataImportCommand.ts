/**
 * `stepagent data import <file> --format eto|agentgym --env <name> --out <file.arrows> [--strict]`
 *
 * Streams a JSON array or JSONL file of conversation records into an Arrow trajectory file. Records
 * that fail to decode go to `<out>.rejects.jsonl` with their index and reason; prints one JSON line
 * `{"read":N,"written":W,"rejected":R,"rejects":"<path>"}` with read == written + rejected.
 */
import * as NodeFs from "node:fs"
import * as NodeV8 from "node:v8"
import { Console, Effect, Option, Result, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { DataError } from "../domain/DataError.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as AgentGymFormat from "../data/AgentGymFormat.ts"
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
}

export interface ImportSummary {
  readonly read: number
  readonly written: number
  readonly rejected: number
  readonly rejects: string
}

const decoderOf = (format: Format): (value: unknown, env: string) => Result.Result<Trajectory, string> =>
  format === "eto" ? EtoFormat.decode : AgentGymFormat.decode

const checkInput = (path: string) =>
  Effect.tryPromise({
    try: async () => {
      const stat = await NodeFs.promises.stat(path)
      if (stat.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" })
    },
    catch: (e) => JsonRecords.ioError(path, e)
  })

/** Imports `input` into `out` (and its rejects file); the summary the command prints. */
export const importFile = Effect.fn("DataImport.importFile")(function*(options: ImportOptions) {
  yield* checkInput(options.input)
  const decode = decoderOf(options.format)
  return yield* Effect.scoped(Effect.gen(function*() {
    const rejects = yield* Rejects.open(Rejects.pathFor(options.out))
    let read = 0
    const trajectories = JsonRecords.read(options.input, { layout: options.layout, maxRecordBytes: options.maxRecordBytes }).pipe(
      Stream.filterMapEffect((item): Effect.Effect<Result.Result<Trajectory, void>, DataError> => {
        read++
        if (item._tag === "Reject") return Effect.as(rejects.write(item), Result.failVoid)
        const decoded = decode(item.value, options.env)
        if (Result.isSuccess(decoded)) return Effect.succeed(Result.succeed(decoded.success))
        return Effect.as(rejects.write({ index: item.index, reason: decoded.failure, record: item.value }), Result.failVoid)
      })
    )
    const written = yield* trajectories.pipe(TrajectoryArrow.write(options.out))
    yield* rejects.flush
    const summary: ImportSummary = { read, written, rejected: rejects.count(), rejects: rejects.path }
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

const validateFlags = (env: string, maxRecordBytes: number, input: string, out: string) => {
  if (env.trim() === "") return UserError.fail("--env: must name an environment (e.g. --env webshop)")
  if (maxRecordBytes < 1) return UserError.fail(`--max-record-bytes: must be at least 1, got ${maxRecordBytes}`)
  if (out === input) return UserError.fail(`--out: ${out} is the input file`)
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
  strict: Flag.Boolean("strict").pipe(Flag.withDefault(false), Flag.withDescription("Exit non-zero when any record is rejected")),
  inputFormat: Flag.Literals("input-format", ["json", "jsonl"]).pipe(
    Flag.optional,
    Flag.withDescription("json (one array) or jsonl (one record a line); default: detected from the first byte")
  ),
  maxRecordBytes: Flag.Int("max-record-bytes").pipe(
    // The reader's default (64 MiB): far above any real trajectory, small enough to bound memory.
    Flag.withDefault(JsonRecords.defaultMaxRecordBytes),
    Flag.withDescription("Reject any record larger than this many bytes")
  )
}, (config) =>
  Effect.gen(function*() {
    yield* validateFlags(config.env, config.maxRecordBytes, config.input, config.out)
    favourMemory()
    const summary = yield* importFile({
      input: config.input,
      format: config.format,
      env: config.env,
      out: config.out,
      layout: Option.getOrUndefined(config.inputFormat),
      maxRecordBytes: config.maxRecordBytes
    })
    yield* Console.log(JSON.stringify(summary))
    if (config.strict && summary.rejected > 0) {
      return yield* UserError.fail(`${summary.rejected} of ${summary.read} records rejected (--strict); see ${summary.rejects}`)
    }
  })).pipe(Command.withDescription("Import ETO/IPR or AgentGym conversations (JSON or JSONL) into a trajectory .arrows file"))
