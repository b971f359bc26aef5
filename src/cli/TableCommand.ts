import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Table from "../pipeline/Table.ts"

/**
 * `stepagent table <run-dir>... [--json]`: the comparison table (method x environment: average reward
 * and success rate on the evaluation split) of evaluated runs, as Markdown or JSON. Runs of the same
 * method and environment (seeds) are averaged. The method rule is in src/pipeline/Table.ts.
 */
export const command = Command.make("table", {
  runDirs: Argument.String("run-dir").pipe(Argument.atLeast(1), Argument.withDescription("evaluated run directories (each needs eval/summary.json)")),
  json: Flag.Boolean("json").pipe(
    Flag.withDescription("print JSON ({ methods, columns, cells }) instead of Markdown"),
    Flag.withDefault(false) // Markdown pastes into a README or a paper draft
  )
}, ({ json, runDirs }) =>
  Effect.gen(function*() {
    const entries = yield* Effect.forEach(runDirs, (d) => Table.entry(d))
    const comparison = Table.compare(entries)
    yield* Console.log(json ? Table.json(comparison) : Table.markdown(comparison))
  })).pipe(Command.withDescription("Print the method x environment comparison table (average reward, success rate) of evaluated runs"))
