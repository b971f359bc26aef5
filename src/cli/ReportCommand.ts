import * as NodePath from "node:path"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Curves from "../report/Curves.ts"
import * as Report from "../report/Report.ts"
import * as UserError from "./UserError.ts"

/**
 * `stepagent report <run-dir>... [--out report.html] [--max-points N] [--no-figures]`: writes the
 * self-contained HTML report of the runs (learning curves of every metric, runs overlaid, evaluation,
 * step-reward heatmap, config) and `figures/*.png` beside it. Default page: `<run-dir>/report.html` for
 * one run, `report.html` in the working directory for several. Prints the page's path on the first
 * line, then how many charts and figures it holds.
 */
export const command = Command.make("report", {
  runDirs: Argument.String("run-dir").pipe(Argument.atLeast(1), Argument.withDescription("run directories (runs/<pipeline>__<seed>__<timestamp>); several are overlaid")),
  out: Flag.String("out").pipe(
    Flag.optional,
    Flag.withDescription("the HTML page to write (default: <run-dir>/report.html for one run, report.html for several)")
  ),
  maxPoints: Flag.Int("max-points").pipe(
    Flag.withDescription("points kept per metric and run; longer series are averaged over buckets of consecutive steps"),
    Flag.withDefault(Curves.DEFAULT_MAX_POINTS) // more points than a chart has pixels, even as a 2x PNG
  ),
  noFigures: Flag.Boolean("no-figures").pipe(
    Flag.withDescription("do not write figures/*.png"),
    Flag.withDefault(false) // figures are what papers need; skipping them only saves a second
  )
}, ({ maxPoints, noFigures, out, runDirs }) =>
  Effect.gen(function*() {
    if (!Number.isInteger(maxPoints) || maxPoints < 2) return yield* UserError.fail(`--max-points ${maxPoints}: must be at least 2`)
    const written = yield* Report.write(runDirs, { out: Option.getOrUndefined(out), maxPoints, figures: !noFigures })
    yield* Console.log(written.out)
    yield* Console.log(
      `${written.charts} charts, ${written.bytes} bytes` +
        (written.figures.length === 0 ? "" : `; ${written.figures.length} figures in ${NodePath.join(NodePath.dirname(written.out), "figures")}`)
    )
  })).pipe(Command.withDescription("Write the HTML report (curves, evaluation, step-reward heatmap, config) of one or more runs"))
