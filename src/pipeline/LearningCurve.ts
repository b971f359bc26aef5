import { Effect, Stream } from "effect"
import * as Metrics from "../metrics/Metrics.ts"
import * as ActionAccuracy from "../stages/ActionAccuracy.ts"
import * as Evaluate from "../stages/Evaluate.ts"
import * as Models from "../stages/Models.ts"
import type * as Run from "../stages/Run.ts"
import * as Dataset from "./Dataset.ts"
import * as Environment from "./Environment.ts"
import type * as Unit from "./Unit.ts"

/**
 * One point of the SFT learning curves (`curveEvery`): held-out and train success, held-out action accuracy and the
 * same at trained states (the first `n` trajectories the run trains on), at the current optimizer step, logged as
 * curve/* (not eval/*). Built-in environments only.
 */
export const point = (ctx: Unit.Context, run: Run.Run, n: number) =>
  Effect.gen(function*() {
    const p = ctx.pipeline
    if (p.env.url !== undefined) return
    const models = yield* Models.Models
    const metrics = yield* Metrics.Metrics
    const curveRun = { ...run, iteration: run.iteration + 2_000_000 }
    const episodes = (split: "test" | "train") =>
      // the curve's own record below, not eval/*
      Evaluate.tasks(split, n).pipe(Evaluate.evaluate(Evaluate.defaults, curveRun, {}), Stream.runCollect, Effect.provide(Metrics.layerNone))
    const test = yield* episodes("test")
    const train = yield* episodes("train")
    const accuracy = yield* ActionAccuracy.actionAccuracy(Environment.heldOutExperts(p, ctx.simulator, n))
    const fitted = yield* ActionAccuracy.actionAccuracy(Array.from(yield* Stream.runCollect(Dataset.trainedOn(p, n))))
    const step = (yield* models.entries)["policy"]?.optimizer?.step ?? 0
    yield* metrics.log({
      stage: "sft_curve",
      iteration: run.iteration,
      step,
      values: {
        "curve/success_rate": Evaluate.summary(Array.from(test)).successRate,
        "curve/train_success_rate": Evaluate.summary(Array.from(train)).successRate,
        "curve/action_accuracy": accuracy.accuracy,
        "curve/train_action_accuracy": fitted.accuracy
      }
    })
  })
