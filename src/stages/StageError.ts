import { Schema } from "effect"

/** Why a stage stopped. */
export const StageErrorReason = Schema.Literals([
  "NonFinite", // a loss, gradient or metric was NaN or infinite: the update was not applied
  "EnvFailed", // the environment could not be used at all (not one episode: those end with a recorded reason)
  "MissingModel", // a model role the stage needs is not in the `Models` service
  "BadConfig", // a configuration the stage cannot run with (e.g. the expert policy without an expert)
  "BadInput", // an input element the stage cannot use (e.g. an empty action)
  "ThreadFailed" // a helper thread of the training passes (GradientThreads) could not start, failed or died
])
export type StageErrorReason = typeof StageErrorReason.Type

/**
 * A stage stopped. `stage` names it (`ppo`, `implicit_reward`, ...), `step` the optimizer step or batch
 * where it happened, `metric` the metric that went bad (`loss/policy`), when there is one.
 * `message` is one line naming all of them.
 */
export class StageError extends Schema.TaggedError<StageError>()("StageError", {
  reason: StageErrorReason,
  stage: Schema.String,
  step: Schema.Number,
  metric: Schema.optionalKey(Schema.String),
  message: Schema.String
}) {}

/** The error of a non-finite metric, with its one-line message. */
export const nonFinite = (stage: string, step: number, metric: string, value: number): StageError =>
  new StageError({
    reason: "NonFinite",
    stage,
    step,
    metric,
    message: `stage ${stage}, step ${step}: ${metric} is ${value}; the update was not applied`
  })
