import { Effect, Stream } from "effect"
import * as Render from "../data/Render.ts"
import * as Failpoint from "../fault/Failpoint.ts"
import * as Dagger from "../stages/Dagger.ts"
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

/** Round `iteration`'s `count` train tasks: from `offset`, after the earlier rounds' (cycling over the split's `size`). */
export const roundTasks = (offset: number, iteration: number, count: number, size: number): Array<string> => {
  const first = offset + iteration * count
  return Array.from({ length: count }, (_, i) => `train:${(first + i) % size}`)
}

/** An outcome-PPO iteration: the next `episodesPerIteration` train tasks from `taskOffset` (cycling) rolled out and trained on. */
export const outcomePpo = (ctx: Unit.Context, u: Unit.Unit, e: typeof StageEntry.OutcomePpoEntry.Type) =>
  Effect.gen(function*() {
    yield* Models.ensureReference // π_ref for PPO's KL penalty: the policy when the stage starts
    const size = ctx.simulator.size("train") // the built-in world's, also beside an AgentGym server (which may not say)
    const tasks = roundTasks(e.taskOffset, u.iteration, e.episodesPerIteration, size)
    yield* Stream.fromIterable(tasks).pipe(OutcomePpo.outcomePpo(e, Unit.run(ctx.pipeline, u)), Stream.runDrain)
  })

/**
 * A DAgger round: the next `episodesPerIteration` train tasks from `taskOffset` (cycling) rolled out by the policy and
 * relabelled by the expert, mixed with `expertRatio` times as many expert trajectories of the data from `expertOffset` (a
 * window per round, cycling), shuffled, and trained on by SFT for `epochs` passes. A round's trajectories are held in
 * memory: at most (1 + expertRatio) x cuts x episodesPerIteration of them (1,024 on house's pipelines). The learning
 * rate's schedule spans every round at their largest size, so a round that relabels fewer ends its share early.
 */
export const dagger = (ctx: Unit.Context, u: Unit.Unit, e: typeof StageEntry.DaggerEntry.Type) =>
  Effect.gen(function*() {
    const p = ctx.pipeline
    const run = Unit.run(p, u)
    const size = ctx.simulator.size("train")
    const tasks = roundTasks(e.taskOffset, u.iteration, e.episodesPerIteration, size)
    const relabelled = yield* Stream.fromIterable(tasks).pipe(Dagger.relabelled(e, run, ctx.simulator), Stream.runCollect)
    const most = Dagger.roundSize(e, e.episodesPerIteration)
    const expertCount = Math.min(ctx.total, Math.round(relabelled.length * e.expertRatio))
    const range = [Math.min(e.expertOffset, ctx.total - 1), ctx.total] as const
    const expert = expertCount === 0 ? [] : yield* Dataset.window(p, ctx.tokenizer, range, u.iteration * most.expert, expertCount).pipe(Stream.runCollect)
    const round = [...relabelled.map((t) => Render.render(ctx.tokenizer, Dataset.asSeen(p, t))), ...expert]
    const totalSteps = e.iterations * e.epochs * Math.ceil((most.relabelled + most.expert) / e.sft.batchSize)
    const epochs = Array.from({ length: e.epochs }, (_, k) => {
      const order = Run.permutation(Run.rng(run, "dagger/shuffle", k), round.length)
      return Array.from(order, (i) => round[i]!)
    })
    yield* Stream.fromIterable(epochs.flat()).pipe(Sft.sft(e.sft, run, { totalSteps }), Stream.runDrain)
  })
