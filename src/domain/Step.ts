import { Schema } from "effect"

/**
 * One step of a trajectory: the observation the agent saw, then the action it took.
 * `thought` is the ReAct-style reasoning before the action, when the source has one.
 * `raw` keeps the original assistant turn when it is not exactly the canonical rendering
 * (`Thought: <thought>\nAction: <action>` or the bare action), so export is lossless.
 */
export const Step = Schema.Struct({
  observation: Schema.String,
  thought: Schema.optionalKey(Schema.String),
  action: Schema.String,
  raw: Schema.optionalKey(Schema.String)
})
export type Step = typeof Step.Type

/** The assistant turn of a step as the conversation formats write it. */
export const renderAction = (step: Step): string =>
  step.raw ?? (step.thought === undefined ? step.action : `Thought: ${step.thought}\nAction: ${step.action}`)
