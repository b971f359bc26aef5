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

const thoughtAction = /^Thought:[ ]?([\s\S]*?)\nAction:[ ]?([\s\S]*)$/

/**
 * Splits an assistant turn into thought and action. `Thought: X\nAction: Y` gives both; anything else
 * is a bare action. `raw` is set when the canonical rendering would not give the text back exactly.
 */
export const parseAssistantTurn = (text: string): { readonly thought?: string; readonly action: string; readonly raw?: string } => {
  const m = thoughtAction.exec(text)
  const parsed: { thought?: string; action: string } = m === null ? { action: text.trim() } : { thought: m[1]!, action: m[2]!.trim() }
  const canonical = parsed.thought === undefined ? parsed.action : `Thought: ${parsed.thought}\nAction: ${parsed.action}`
  return canonical === text ? parsed : { ...parsed, raw: text }
}
