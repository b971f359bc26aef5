import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Inspect from "../data/Inspect.ts"

const file = Argument.String("file").pipe(Argument.withDescription("a trajectory file in the text layout (.arrows)"))
const json = Flag.Boolean("json").pipe(
  Flag.withDescription("print one JSON object instead of the human-readable summary"),
  Flag.withDefault(false) // human-readable unless asked
)

const pct = (x: number) => `${(100 * x).toFixed(1)}%`

const human = (path: string, s: Inspect.Stats, schema: Inspect.SchemaSummary): string => {
  const width = Math.max(0, ...Object.keys(s.envs).map((k) => k.length))
  const nameWidth = Math.max(0, ...schema.columns.map((c) => c.name.length))
  return [
    `file          ${path}`,
    `trajectories  ${s.trajectories}`,
    `steps         ${s.steps}`,
    `mean steps    ${s.meanSteps.toFixed(2)}`,
    `mean reward   ${s.meanReward.toFixed(4)}`,
    `success rate  ${pct(s.successRate)}`,
    ...(s.untrainedActions > 0 ? [`no-target actions  ${s.untrainedActions} (turnLoss false: context, never trained on)`] : []),
    `environments  ${Object.keys(s.envs).length}`,
    ...Object.entries(s.envs).map(([k, v]) => `  ${k.padEnd(width)}  ${v} (${pct(s.trajectories === 0 ? 0 : v / s.trajectories)})`),
    `schema        ${schema.layout ?? "(no layout metadata)"}, ${s.batches} record batch${s.batches === 1 ? "" : "es"}`,
    ...schema.columns.map((c) => `  ${c.name.padEnd(nameWidth)}  ${c.type}${c.nullable ? " (nullable)" : ""}`)
  ].join("\n")
}

/**
 * `stepagent data inspect <file.arrows> [--json]`: trajectories, steps, environments, mean steps, mean
 * reward, success rate and schema of a trajectory file, streamed batch by batch.
 */
export const command = Command.make("inspect", { file, json }, ({ file, json }) =>
  Effect.gen(function*() {
    const result = yield* Inspect.inspect(file)
    yield* Console.log(json ? JSON.stringify(result) : human(file, result, result.schema))
  })).pipe(Command.withDescription("Summarise a trajectory file: counts, environments, rewards, success rate, schema"))
