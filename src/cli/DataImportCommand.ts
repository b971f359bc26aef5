/**
 * `stepagent data import <file> --format eto|agentgym|chat|parquet --env <name> --out <file.arrows> [--strict]`
 *
 * Streams a JSON array or JSONL file of conversation records, or Parquet files of chat records (a file, a
 * directory of `*.parquet` shards, or a quoted glob pattern), into an Arrow trajectory file. Records
 * that fail to decode go to `<out>.rejects.jsonl` with their index and reason; prints one JSON line
 * `{"read":N,"written":W,"rejected":R,"rejects":"<path>","warnings":K}` with read == written + rejected.
 * The output and the rejects file appear together at the end (each written to a temporary file first).
 */
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Import from "../data/Import.ts"
import * as JsonRecords from "../data/JsonRecords.ts"
import * as Heap from "./Heap.ts"
import * as UserError from "./UserError.ts"

const validateFlags = (env: string, maxRecordBytes: number, maxDepth: number) => {
  if (env.trim() === "") return UserError.fail("--env: must name an environment (e.g. --env webshop)")
  if (maxRecordBytes < 1) return UserError.fail(`--max-record-bytes: must be at least 1, got ${maxRecordBytes}`)
  if (maxDepth < 1) return UserError.fail(`--max-depth: must be at least 1, got ${maxDepth}`)
  return Effect.void
}

export const command = Command.make("import", {
  input: Argument.String("file").pipe(
    Argument.withDescription("A JSON array file or JSONL of conversation records; for --format parquet a .parquet file, a directory of them, or a quoted glob")
  ),
  format: Flag.Literals("format", ["eto", "agentgym", "chat", "parquet"]).pipe(
    Flag.withDescription(
      "eto: ETO/IPR {id, conversations, reward?}; agentgym: {item_id, conversations (with loss), reward?, success?}; " +
        "chat: {messages: [{role, content}], id?, reward?, success?, env?, task_id?} or a bare array of messages; " +
        "parquet: chat records as columns (messages, or conversations, or prompt + completion; id, reward, success, env, task_id)"
    )
  ),
  env: Flag.String("env").pipe(
    Flag.withDescription("Environment name stored in every trajectory (webshop, alfworld, ...); a chat record's own env wins")
  ),
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
    if (config.format === "parquet" && Option.isSome(config.inputFormat)) {
      return yield* UserError.fail("--input-format: applies to JSON input, not to --format parquet")
    }
    Heap.favourMemory()
    const summary = yield* Import.importFile({
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
          `have an action at ${Import.ackPlace(config.format)} where the acknowledgement belongs (the prompt + acknowledgement pair is missing); ` +
          "their first action was read as the acknowledgement. --strict rejects them."
      )
    }
    if (config.strict && summary.rejected > 0) {
      return yield* UserError.fail(`${summary.rejected} of ${summary.read} records rejected (--strict); see ${summary.rejects}`)
    }
  })).pipe(
    Command.withDescription("Import ETO/IPR, AgentGym or chat-message conversations (JSON or JSONL), or chat records in Parquet, into a trajectory .arrows file")
  )
