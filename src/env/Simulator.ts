import type { Split } from "../domain/TaskId.ts"
import type { Episode, StepResult } from "./Env.ts"

/**
 * A built-in environment as plain synchronous code: deterministic given the task id and the seed
 * it was made with. `Builtin.layer` lifts it into the `Env` service.
 */
export interface Simulator {
  readonly name: string
  /** The environment's prompt: what the actions are and how to write them (the trajectory's `instruction`). */
  readonly instruction: string
  readonly size: (split: Split) => number
  /** A fresh, independent episode of a task. Throws only on an unknown task id (checked by the caller first). */
  readonly start: (taskId: string) => SimEpisode
  /** The expert's actions for a task: replayed from `start(taskId)`, they reach reward 1. */
  readonly expert: (taskId: string) => ReadonlyArray<string>
  /** Optional short templated thoughts for the expert's actions (same length as `expert`). */
  readonly expertThoughts?: (taskId: string) => ReadonlyArray<string>
  /**
   * Optional: the expert's next action after `actions` (any actions, an agent's mistakes included) replayed from
   * `start(taskId)`, judged on what those actions showed; undefined when the episode is over or the expert has no
   * next action. From no actions it gives `expert(taskId)` one by one. DAgger-style relabelling needs it
   * (src/env/Relabel.ts).
   */
  readonly expertAfter?: (taskId: string, actions: ReadonlyArray<string>) => string | undefined
}

/** One running episode. Invalid or malformed actions never throw: they get the environment's usual answer. */
export interface SimEpisode {
  readonly episode: Episode
  readonly step: (action: string) => StepResult
  readonly validActions: () => ReadonlyArray<string> | undefined
}
