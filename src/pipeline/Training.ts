import { Effect, Stream } from "effect"
import * as Render from "../data/Render.ts"
import * as Failpoint from "../fault/Failpoint.ts"
import * as Models from "../stages/Models.ts"
import * as OutcomePpo from "../stages/OutcomePpo.ts"
import * as Run from "../stages/Run.ts"
import * as Sft from "../stages/Sft.ts"
import * as Shuffle from "../stages/Shuffle.ts"
import * as StepAgent from "../stages/StepAgent.ts"
import * as StepDpo from "../stages/StepDpo.ts"
import * as Dataset from "./Dataset.ts"
import * as LearningCurve from "./LearningCurve.ts"
import type * as StageEntry from "./StageEntry.ts"
import * as StepRewardSamples from "./StepRewardSamples.ts"
import * as Unit from "./Unit.ts"

/**
 * The units of the training stages: what data each iteration of a stage entry streams through its stage. An entry
 * is its stage's config (StageEntry spreads the stage's Config fields, decoded once with the pipeline), passed as it is.
 */

/**
 * An SFT epoch (or its part: `checkpointEvery`) over the entry's range of the data, in a new shuffled order every
 * epoch; a learning-curve point when an epoch that is due ends. A part takes its slice of the epoch's order, so the
 * parts of an epoch train exactly as the whole.
 */
export const sft = (ctx: Unit.Context, u: Unit.Unit, e: typeof StageEntry.SftEntry.Type) =>
  Effect.gen(function*() {
    const p = ctx.pipeline
    const run = Unit.run(p, u)
    const [lo, hi] = Dataset.sftRange(e, ctx.total)
    const totalSteps = e.epochs * Math.ceil((hi - lo) / e.batchSize)
    const per = e.checkpointEvery * e.batchSize // trajectories a part
    yield* Dataset.trajectories(p).pipe(
      Stream.take(hi),
      Stream.drop(lo),
      Shuffle.buffer(Dataset.shuffleBuffer, Run.rng(run, "sft/shuffle")), // a new order every epoch (run.iteration)
      u.parts > 1 ? (s) => s.pipe(Stream.drop(u.part * per), Stream.take(per)) : (s) => s,
      Stream.map((t) => Render.render(ctx.tokenizer, t)),
      Sft.sft(e, run, { totalSteps }),
      Stream.runDrain
    )
    const epochEnds = u.part === u.parts - 1
    if (epochEnds && e.curveEvery > 0 && (u.iteration + 1) % e.curveEvery === 0) yield* LearningCurve.point(ctx, run, e.curveEpisodes)
  })

/** A StepAgent iteration on its window of the held-out pool; its step-reward samples appended for the report. */
export const stepagent = (ctx: Unit.Context, u: Unit.Unit, e: typeof StageEntry.StepAgentEntry.Type) =>
  Effect.gen(function*() {
    const p = ctx.pipeline
    const start = u.iteration * e.trajectoriesPerIteration
    const samples = StepRewardSamples.make(ctx, u)
    yield* Dataset.window(p, ctx.tokenizer, Dataset.poolRange(p, e, ctx.total), start, e.trajectoriesPerIteration).pipe(
      StepAgent.iteration(e, Unit.run(p, u), { rewarded: samples.observe }),
      Stream.runDrain
    )
    yield* samples.write
    yield* Failpoint.hit("samples.write")
  })

/** A step-DPO iteration on its window of the held-out pool. */
export const stepDpo = (ctx: Unit.Context, u: Unit.Unit, e: typeof StageEntry.StepDpoEntry.Type) =>
  Effect.gen(function*() {
    const p = ctx.pipeline
    yield* Models.ensureReference // π_ref: the policy as it is when the stage starts (after SFT)
    const start = u.iteration * e.trajectoriesPerIteration
    yield* Dataset.window(p, ctx.tokenizer, Dataset.poolRange(p, e, ctx.total), start, e.trajectoriesPerIteration).pipe(
      StepDpo.stepDpo(e, Unit.run(p, u)),
      Stream.runDrain
    )
  })

/** An outcome-PPO iteration: the next `episodesPerIteration` train tasks (cycling) rolled out and trained on. */
export const outcomePpo = (ctx: Unit.Context, u: Unit.Unit, e: typeof StageEntry.OutcomePpoEntry.Type) =>
  Effect.gen(function*() {
    yield* Models.ensureReference // π_ref for PPO's KL penalty: the policy when the stage starts
    const size = ctx.simulator.size("train") // the built-in world's, also beside an AgentGym server (which may not say)
    const first = u.iteration * e.episodesPerIteration
    const tasks = Array.from({ length: e.episodesPerIteration }, (_, i) => `train:${(first + i) % size}`)
    yield* Stream.fromIterable(tasks).pipe(OutcomePpo.outcomePpo(e, Unit.run(ctx.pipeline, u)), Stream.runDrain)
  })
