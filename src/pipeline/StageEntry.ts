import { Effect, Schema } from "effect"
import * as Dagger from "../stages/Dagger.ts"
import * as Evaluate from "../stages/Evaluate.ts"
import * as Field from "../stages/Field.ts"
import * as OutcomePpo from "../stages/OutcomePpo.ts"
import * as Sft from "../stages/Sft.ts"
import * as StepAgent from "../stages/StepAgent.ts"
import * as StepDpo from "../stages/StepDpo.ts"

/**
 * One entry of a pipeline's `stages`: the stage's own config (src/stages, with its defaults) plus how
 * often the runner repeats it. Each repetition is a unit of work: the run checkpoints after every unit,
 * and resume starts at the first unit not completed.
 */
export const SftEntry = Schema.Struct({
  stage: Schema.Literal("sft"),
  epochs: Field.int(2), // passes over the expert data: enough for a small model to imitate the expert's format
  // learning curves (the ladder of ../shared/SCIENCE.md): every this many epochs, `curveEpisodes` held-out and as many
  // train episodes and the held-out action accuracy, logged as curve/* at the optimizer step (0 = off: they cost time)
  curveEvery: Field.int(0, 0),
  curveEpisodes: Field.int(50), // a rough point (+-14 points at 95%): curves show direction, the final evaluation the number
  // an epoch cut into units of this many optimizer steps, each checkpointed (0 = one unit per epoch): an interrupted
  // long SFT (the paper table's qa warm start is one 26-minute epoch) loses one part, not the epoch. The parts train
  // exactly as the whole epoch (the same order, batches and steps), so the setting changes no number.
  checkpointEvery: Field.int(0, 0),
  ...Sft.Config.fields
})

export const StepAgentEntry = Schema.Struct({
  stage: Schema.Literal("stepagent"),
  iterations: Field.int(4), // inspection-reflection rounds: the paper iterates a few times
  trajectoriesPerIteration: Field.int(64), // expert trajectories segmented per round (a window over the data, cycling)
  poolOffset: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))), // where the held-out pool starts in the data (default: after the first SFT stage's trajectories; a run started from an `init` checkpoint names it)
  ...StepAgent.Config.fields
})

export const OutcomePpoEntry = Schema.Struct({
  stage: Schema.Literal("outcomePpo"),
  iterations: Field.int(4), // the same number of rounds as StepAgent, for a like-for-like budget
  episodesPerIteration: Field.int(64), // training tasks rolled out per round
  // the first round's first train task (the rounds follow on, cycling): 0, the tasks from the start; a pipeline that
  // leaves train:0-99 out of its SFT for the evaluate stage's train episodes rolls out others (experiment.ts's house)
  taskOffset: Field.int(0, 0),
  ...OutcomePpo.Config.fields
})

export const StepDpoEntry = Schema.Struct({
  stage: Schema.Literal("stepDpo"),
  iterations: Field.int(4), // as StepAgent
  trajectoriesPerIteration: Field.int(64), // as StepAgent
  poolOffset: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))), // as StepAgent
  ...StepDpo.Config.fields
})

export const DaggerEntry = Schema.Struct({
  stage: Schema.Literal("dagger"),
  iterations: Field.int(2), // rounds: each rolls out the policy as the previous round left it
  episodesPerIteration: Field.int(256), // training tasks rolled out per round (up to `cuts` relabelled trajectories each)
  // the first train task rolled out (then the next ones, cycling): the long SFT recipes keep train:0-99 unseen for the
  // evaluate stage's train episodes, their data starting at train task 100
  taskOffset: Field.int(100, 0),
  expertOffset: Field.int(100, 0), // where the expert demonstrations mixed in start in the data (the same reason)
  ...Dagger.Config.fields
})

export const EvaluateEntry = Schema.Struct({
  stage: Schema.Literal("evaluate"),
  split: Schema.Literals(["train", "test"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("test" as const))), // held-out tasks
  n: Field.int(200), // episodes: 200 held-out tasks give a success rate within about +-7 points (95%)
  // the ladder's other rungs (../shared/SCIENCE.md), built-in environments only: episodes on train tasks (did SFT fit
  // its data? 0 = skip) and greedy-action exact match at the expert states of this many held-out tasks
  trainEpisodes: Field.int(0, 0), // off by default: it costs as much as the test episodes
  actionAccuracyTasks: Field.int(100, 0), // ~300-2,000 expert states: a cheap, low-variance rung (one batched pass per state)
  // the same greedy exact match at the expert states of this many trajectories the run trains on (Dataset.trainedOn):
  // beside the held-out figure it tells "cannot fit" from "cannot generalise" one step at a time, where train-split
  // episodes mix both with compounding errors (house: 72% at trained states against 73% held-out, docs/paper-table.md)
  trainActionAccuracyTasks: Field.int(100, 0),
  // episodes on the train tasks of another world, one the data was not generated from (qa only: its names are split by
  // hash, so no test task is among them): unseen facts, the held-out task's difficulty without the test split, which
  // ../shared/SCIENCE.md keeps out of every choice of hyper-parameters. 0 episodes = skip.
  validation: Schema.optionalKey(Schema.Struct({
    world: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    episodes: Field.int(100) // as trainEpisodes: +-10 points (95%) at a 50% success rate
  })),
  ...Evaluate.Config.fields
})

export const StageEntry = Schema.Union([SftEntry, StepAgentEntry, OutcomePpoEntry, StepDpoEntry, DaggerEntry, EvaluateEntry])
export type StageEntry = typeof StageEntry.Type

export const kinds = ["sft", "stepagent", "outcomePpo", "stepDpo", "dagger", "evaluate"] as const

/** How many units an entry runs. */
export const repetitions = (e: StageEntry): number => {
  switch (e.stage) {
    case "sft":
      return e.epochs
    case "stepagent":
    case "outcomePpo":
    case "stepDpo":
    case "dagger":
      return e.iterations
    case "evaluate":
      return 1
  }
}
