import type { Effect } from "effect"
import type { Tokenizer } from "../data/Tokenizer.ts"
import type { Simulator } from "../env/Simulator.ts"
import * as Dataset from "./Dataset.ts"
import type * as Pipeline from "./Pipeline.ts"
import * as StageEntry from "./StageEntry.ts"

/**
 * A unit of work: one repetition of a stage entry (an SFT epoch, a StepAgent iteration, an evaluation). The run
 * checkpoints after every unit, and resume starts at the first unit not completed.
 */
export interface Unit {
  readonly index: number // global, in pipeline order
  readonly stageIndex: number
  readonly iteration: number // repetition of the stage
  readonly part: number // within the repetition: an SFT epoch cut into `checkpointEvery`-step parts; else 0 of 1
  readonly parts: number
  readonly entry: StageEntry.StageEntry
}

/** The pipeline's units, in order, for data of `total` trajectories (an SFT epoch's parts depend on its size). */
export const units = (p: Pipeline.Pipeline, total: number): ReadonlyArray<Unit> => {
  const out: Array<Unit> = []
  p.stages.forEach((entry, stageIndex) => {
    const parts = partsOf(entry, total)
    for (let iteration = 0; iteration < StageEntry.repetitions(entry); iteration++) {
      for (let part = 0; part < parts; part++) out.push({ index: out.length, stageIndex, iteration, part, parts, entry })
    }
  })
  return out
}

/** How many units one repetition of an entry is: an SFT epoch's optimizer steps in `checkpointEvery`-step parts; else 1. */
const partsOf = (entry: StageEntry.StageEntry, total: number): number => {
  if (entry.stage !== "sft" || entry.checkpointEvery === 0) return 1
  const [lo, hi] = Dataset.sftRange(entry, total)
  return Math.max(1, Math.ceil(Math.ceil((hi - lo) / entry.batchSize) / entry.checkpointEvery))
}

/** The seed of a stage's random streams: distinct per stage entry, fixed by the pipeline seed. */
export const stageSeed = (p: Pipeline.Pipeline, stageIndex: number): number => (Math.imul(p.seed + 1, 0x9e3779b1) + stageIndex * 7919) | 0

/** What every unit of a run sees. */
export interface Context {
  readonly runDir: string
  readonly pipeline: Pipeline.Pipeline
  readonly tokenizer: Tokenizer
  readonly total: number // trajectories in the data
  readonly simulator: Simulator // the built-in world env.seed names: behind the Env layer unless env.url is set
  readonly note: (status: string) => Effect.Effect<void> // progress inside a unit (a plain line when one is due)
}

/** A unit's run: every random stream of the unit derives from (pipeline seed, stage index, iteration). */
export const run = (p: Pipeline.Pipeline, unit: Unit) => ({ seed: stageSeed(p, unit.stageIndex), iteration: unit.iteration })
