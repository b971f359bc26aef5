import { Context, type Effect } from "effect"
import type { EnvError } from "../domain/EnvError.ts"
import type { EnvSpec } from "./EnvSpec.ts"

/** What the environment answers to an action. `reward` is the episode's reward when `done`, else 0. */
export interface StepResult {
  readonly observation: string
  readonly reward: number
  readonly done: boolean
}

/** A task once reset: the instruction (the environment's prompt), the first observation, the step limit. */
export interface Episode {
  readonly taskId: string
  readonly instruction: string
  readonly observation: string
  readonly maxSteps: number
}

/**
 * One live episode of an environment. Not shared between fibers: every concurrent episode
 * opens its own session.
 */
export interface EnvSession {
  readonly reset: (taskId: string) => Effect.Effect<Episode, EnvError>
  readonly step: (action: string) => Effect.Effect<StepResult, EnvError>
  /** The actions that are valid now, where the environment has such a list. */
  readonly validActions: Effect.Effect<ReadonlyArray<string> | undefined, EnvError>
  readonly close: Effect.Effect<void>
}

/** The environment service: opens sessions; built-in environments and the AgentGym HTTP client both provide it. */
export class Env extends Context.Service<Env, {
  readonly name: string
  /** Number of tasks in a split, where known (a remote server may not say). */
  readonly size: (split: "train" | "test") => number | undefined
  readonly open: Effect.Effect<EnvSession, EnvError>
  /** How another process opens the same environment (a cluster worker), where known: the pipeline's environments. */
  readonly spec?: EnvSpec | undefined
}>()("stepagent/Env") {}
