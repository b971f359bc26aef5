import { Console, Effect, Path } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Table from "../report/Table.ts"
import * as UserError from "./UserError.ts"

/**
 * `stepagent table <run-dir>... [--json]`: the comparison table (method x environment: average reward
 * and success rate on the evaluation split) of evaluated runs, as Markdown or JSON. Runs of the same
 * method and environment (seeds) make a cell: mean, 95% interval (bootstrap over seeds, then episodes)
 * and count; then the train-split success and action accuracy, and the paired differences of each
 * StepAgent variant against each baseline, and of any pair asked for with `--pair A:B` (A minus B). `--as DIR=METHOD`
 * counts a run as another method's (a warm start run under its own name as the table's `sft`). The rules
 * are in src/report/Table.ts and Bootstrap.ts.
 */
export const command = Command.make("table", {
  runDirs: Argument.String("run-dir").pipe(Argument.atLeast(1), Argument.withDescription("evaluated run directories (each needs eval/summary.json)")),
  json: Flag.Boolean("json").pipe(
    Flag.withDescription("print JSON ({ methods, columns, cells, differences, baselineDifferences, requestedDifferences, bootstrap }) instead of Markdown"),
    Flag.withDefault(false) // Markdown pastes into a README or a paper draft
  ),
  pair: Flag.String("pair").pipe(
    Flag.withDescription("also the paired difference METHOD:BASELINE (METHOD minus BASELINE), e.g. stepagent-implicit-lean:stepagent-implicit (repeatable)"),
    Flag.atLeast(0)
  ),
  as: Flag.String("as").pipe(
    Flag.withDescription("count the run in RUN_DIR as METHOD's, e.g. a warm start run under its own name as the table's sft: RUN_DIR=sft (repeatable)"),
    Flag.atLeast(0)
  )
}, ({ as, json, pair, runDirs }) =>
  Effect.gen(function*() {
    const parsed = pair.map(Table.parsePair)
    const bad = parsed.find((p): p is string => typeof p === "string")
    if (bad !== undefined) return yield* UserError.fail(bad)
    const pairs = parsed.filter((p): p is Table.Pair => typeof p !== "string")
    const relabels = as.map(Table.parseAs)
    const badAs = relabels.find((a): a is string => typeof a === "string")
    if (badAs !== undefined) return yield* UserError.fail(badAs)
    const path = yield* Path.Path
    const entries = Table.relabel(yield* Effect.forEach(runDirs, (d) => Table.entry(d)), relabels.filter((a): a is Table.As => typeof a !== "string"), (d) => path.resolve(d))
    if (typeof entries === "string") return yield* UserError.fail(entries)
    const unknown = Table.unknownPairs(entries, pairs)
    if (unknown.length > 0) return yield* UserError.fail(unknown[0]!)
    const comparison = Table.compare(entries, {}, pairs)
    yield* Console.log(json ? Table.json(comparison) : Table.markdown(comparison))
  })).pipe(Command.withDescription("Print the method x environment comparison table (means with 95% intervals, paired differences) of evaluated runs"))
