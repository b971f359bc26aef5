import * as NodePath from "node:path"
import { Effect, FileSystem, Stream } from "effect"
import * as TrajectoryArrow from "../data/TrajectoryArrow.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as Failpoint from "../fault/Failpoint.ts"
import * as Metrics from "../metrics/Metrics.ts"
import * as RunDir from "../report/RunDir.ts"
import * as ActionAccuracy from "../stages/ActionAccuracy.ts"
import * as Evaluate from "../stages/Evaluate.ts"
import * as Dataset from "./Dataset.ts"
import * as Environment from "./Environment.ts"
import { PipelineError } from "./PipelineError.ts"
import * as RunFiles from "./RunFiles.ts"
import type * as StageEntry from "./StageEntry.ts"
import * as Unit from "./Unit.ts"

/**
 * The evaluate unit: episodes on the held-out split, and the ladder's lower rungs (../shared/SCIENCE.md) the entry
 * asks for (train-split episodes, episodes in a validation world, held-out action accuracy); its outputs in the run
 * directory (eval/episodes.arrows, eval/summary.json) and its one line on stdout. The entry is the stage's config
 * (decoded once, with the pipeline).
 */
export const unit = (ctx: Unit.Context, u: Unit.Unit, e: typeof StageEntry.EvaluateEntry.Type) =>
  Effect.gen(function*() {
    const p = ctx.pipeline
    const run = Unit.run(p, u)
    const sim = p.env.url === undefined ? ctx.simulator : undefined // the simulator behind the Env layer
    // evaluations of long episodes (house, shop) run minutes between metrics: a note after each wave
    const onWave = (what: string, n: number) => (done: number) => ctx.note(`evaluate ${what} ${done}/${n} episodes`)
    const options = { ...(sim === undefined ? {} : { expert: (task: string) => sim.expert(task) }), onWave: onWave(e.split, e.n) }
    const episodes = yield* Evaluate.tasks(e.split, e.n).pipe(Evaluate.evaluate(e, run, options), Stream.runCollect)
    const metrics = yield* Metrics.Metrics
    // the ladder's lower rungs (built-in environments, model policy): train-split success, held-out action accuracy
    let train: ReadonlyArray<Evaluate.Episode> | undefined
    if (e.trainEpisodes > 0) {
      const done = yield* Evaluate.tasks("train", e.trainEpisodes).pipe(
        Evaluate.evaluate(e, { ...run, iteration: run.iteration + 1_000_000 }, { ...options, prefix: "eval/train_", onWave: onWave("train", e.trainEpisodes) }),
        Stream.runCollect
      )
      train = Array.from(done)
    }
    let validation: { readonly world: number; readonly episodes: ReadonlyArray<Evaluate.Episode> } | undefined
    if (e.validation !== undefined && e.validation.episodes > 0) {
      const world = e.validation.world
      const done = yield* Evaluate.tasks("train", e.validation.episodes).pipe(
        Evaluate.evaluate(e, { ...run, iteration: run.iteration + 2_000_000 }, { prefix: "eval/validation_", onWave: onWave(`validation (world ${world})`, e.validation.episodes) }),
        Stream.runCollect,
        Effect.provide(Environment.envLayer({ ...p, env: { ...p.env, seed: world } }))
      )
      validation = { world, episodes: Array.from(done) }
    }
    let actionAccuracy: ActionAccuracy.Result | undefined
    if (sim !== undefined && e.policy === "model" && e.actionAccuracyTasks > 0) {
      actionAccuracy = yield* ActionAccuracy.actionAccuracy(Environment.heldOutExperts(p, sim, e.actionAccuracyTasks))
      yield* metrics.log({ stage: "evaluate", iteration: run.iteration, step: actionAccuracy.states, values: { "eval/action_accuracy": actionAccuracy.accuracy, "eval/action_states": actionAccuracy.states } })
    }
    let trainActionAccuracy: ActionAccuracy.Result | undefined
    if (sim !== undefined && e.policy === "model" && e.trainActionAccuracyTasks > 0) {
      const trained = yield* Stream.runCollect(Dataset.trainedOn(p, e.trainActionAccuracyTasks))
      trainActionAccuracy = yield* ActionAccuracy.actionAccuracy(Array.from(trained))
      yield* metrics.log({ stage: "evaluate", iteration: run.iteration, step: trainActionAccuracy.states, values: { "eval/train_action_accuracy": trainActionAccuracy.accuracy, "eval/train_action_states": trainActionAccuracy.states } })
    }
    yield* outputs(ctx, e, Array.from(episodes), {
      ...(train === undefined ? {} : { train }),
      ...(validation === undefined ? {} : { validation }),
      ...(actionAccuracy === undefined ? {} : { actionAccuracy }),
      ...(trainActionAccuracy === undefined ? {} : { trainActionAccuracy })
    })
  })

/** eval/episodes.arrows (every episode's transcript) and eval/summary.json. */
const outputs = (
  ctx: Unit.Context,
  entry: typeof StageEntry.EvaluateEntry.Type,
  episodes: ReadonlyArray<Evaluate.Episode>,
  extra: {
    readonly train?: ReadonlyArray<Evaluate.Episode>
    readonly validation?: { readonly world: number; readonly episodes: ReadonlyArray<Evaluate.Episode> }
    readonly actionAccuracy?: ActionAccuracy.Result
    readonly trainActionAccuracy?: ActionAccuracy.Result
  }
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = NodePath.join(ctx.runDir, "eval")
    yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError(RunFiles.ioError(dir)))
    const episodesPath = NodePath.join(dir, "episodes.arrows")
    yield* Stream.fromIterable(episodes).pipe(
      Stream.map((e): Trajectory => ({ ...e.trajectory, reward: e.reward, success: e.success, source: `eval:${e.termination}` })),
      TrajectoryArrow.write(episodesPath),
      Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: `${episodesPath}: ${e.message.split("\n")[0]}` }))
    )
    yield* Failpoint.hit("eval.episodes")
    const summary: RunDir.EvalSummary = {
      // avgReward, successRate, episodes, and how each episode ended (done, max_steps, error:<reason>): the terminations
      // add up to `episodes`, whatever the environment did; written in the Schema's field order
      ...splitSummary(episodes),
      env: ctx.pipeline.env.name,
      split: entry.split,
      policy: entry.policy,
      // per episode, in task order: what the table's bootstrap intervals and paired differences resample
      outcomes: episodes.map((e) => ({ task: e.taskId, reward: e.reward, success: e.success })),
      ...(extra.train === undefined ? {} : { train: splitSummary(extra.train) }),
      ...(extra.validation === undefined ? {} : { validation: { world: extra.validation.world, ...splitSummary(extra.validation.episodes) } }),
      ...(extra.actionAccuracy === undefined ? {} : { actionAccuracy: extra.actionAccuracy.accuracy, actionAccuracyStates: extra.actionAccuracy.states }),
      ...(extra.trainActionAccuracy === undefined ? {} : { trainActionAccuracy: extra.trainActionAccuracy.accuracy, trainActionAccuracyStates: extra.trainActionAccuracy.states }),
      ...(extra.actionAccuracy === undefined ? {} : { actionAccuracyByKind: ActionAccuracy.kinds(extra.actionAccuracy) }),
      ...(extra.trainActionAccuracy === undefined ? {} : { trainActionAccuracyByKind: ActionAccuracy.kinds(extra.trainActionAccuracy) })
    }
    yield* RunFiles.writeJson(NodePath.join(ctx.runDir, RunDir.SUMMARY), RunDir.EvalSummary, summary)
    return summary
  })

/** One split's part of eval/summary.json: the held-out split's, the train-split check's, a validation world's. */
const splitSummary = (episodes: ReadonlyArray<Evaluate.Episode>) => {
  const s = Evaluate.summary(episodes)
  return { avgReward: s.avgReward, successRate: s.successRate, episodes: s.episodes, terminations: Evaluate.terminations(episodes) }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`

/** `eval: <split> success 12.5% of 200 episodes (avg reward 0.153); train success 54.0%; action accuracy 42.4%` */
export const line = (s: RunDir.EvalSummary): string =>
  [
    `eval: ${s.split ?? "test"} success ${pct(s.successRate)} of ${s.episodes} episodes (avg reward ${s.avgReward.toFixed(3)})`,
    ...(s.train === undefined ? [] : [`train success ${pct(s.train.successRate)}`]),
    ...(s.validation === undefined ? [] : [`validation success ${pct(s.validation.successRate)} (world ${s.validation.world})`]),
    ...(s.actionAccuracy === undefined ? [] : [`action accuracy ${pct(s.actionAccuracy)}`]),
    ...(s.trainActionAccuracy === undefined ? [] : [`action accuracy at trained states ${pct(s.trainActionAccuracy)}`]),
    ...errorPart("", s.terminations),
    ...errorPart("train: ", s.train?.terminations)
  ].join("; ")

/** `3 episodes ended on environment errors (error:Timeout 2, error:ServerError 1)`, when some did. */
const errorPart = (prefix: string, terminations: Readonly<Record<string, number>> | undefined): Array<string> => {
  const errors = Object.entries(terminations ?? {}).filter(([k]) => k.startsWith("error:"))
  const n = errors.reduce((sum, [, v]) => sum + v, 0)
  return n === 0 ? [] : [`${prefix}${n} episode${n === 1 ? "" : "s"} ended on environment errors (${errors.map(([k, v]) => `${k} ${v}`).join(", ")})`]
}
