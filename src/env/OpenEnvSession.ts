import { Result } from "effect"
import type { Split } from "../domain/TaskId.ts"
import { checkTask } from "./Builtin.ts"
import { type Action, ProtocolError, type ResetData, type State, type StepResult } from "./OpenEnvProtocol.ts"
import type { SimEpisode, Simulator } from "./Simulator.ts"

/**
 * One OpenEnv environment instance over a built-in simulator: what openenv-core's `Environment` is to its server
 * (reset, step, state). A WebSocket connection holds one for its life; the stateless HTTP /reset, /step and /state
 * each use a fresh one, as openenv-core's do. Plain synchronous code: the server brings the transport and the limits.
 */
export interface Options {
  readonly split: Split
  /** The seed the simulator was made with: a reset's `seed` must match it. */
  readonly worldSeed: number
  /** A fresh episode id when a reset gives none. */
  readonly episodeId: () => string
}

export interface OpenEnvSession {
  readonly reset: (data: ResetData) => Result.Result<StepResult, ProtocolError>
  readonly step: (action: Action) => Result.Result<StepResult, ProtocolError>
  readonly state: () => State
}

const refuse = (message: string) => Result.fail(new ProtocolError({ code: "EXECUTION_ERROR", message }))

export const make = (sim: Simulator, options: Options): OpenEnvSession => {
  let episode: SimEpisode | undefined
  let episodeId: string | null = null
  let taskId: string | null = null
  let maxSteps: number | null = null
  let observation = ""
  let done = false
  let stepCount = 0
  /** The next task of a reset that names none: 0, 1, 2, ... of the server's split (as reasoning_gym's iterator). */
  let next = 0

  const size = sim.size(options.split)
  const validActions = (): ReadonlyArray<string> => (done ? undefined : episode?.validActions()) ?? []

  const taskOf = (ref: number | string | null | undefined): Result.Result<string, ProtocolError> => {
    let id: string
    if (ref === undefined || ref === null) {
      id = `${options.split}:${next % size}`
      next++
    } else if (typeof ref === "string" && ref.length > 40) {
      return refuse(`task_id is not <train|test>:<index> (a string of ${ref.length} characters)`)
    } else {
      id = typeof ref === "number" ? `${options.split}:${ref}` : ref
    }
    const bad = checkTask(sim, id)
    return bad === undefined ? Result.succeed(id) : refuse(`task_id ${JSON.stringify(ref ?? id)}: ${bad.message}`)
  }

  return {
    reset: (data) =>
      Result.gen(function*() {
        if (data.seed !== undefined && data.seed !== null && data.seed !== options.worldSeed) {
          return yield* refuse(`seed ${data.seed} does not match this server's world seed ${options.worldSeed} (env serve --seed); name the task with task_id`)
        }
        const id = yield* taskOf(data.task_id)
        episode = sim.start(id)
        const e = episode.episode
        episodeId = data.episode_id ?? options.episodeId()
        taskId = id
        maxSteps = e.maxSteps
        observation = e.observation
        done = false
        stepCount = 0
        return {
          observation: { text: observation, available_actions: validActions(), instruction: e.instruction, task_id: taskId, max_steps: maxSteps },
          reward: 0,
          done: false
        }
      }),
    step: (action) => {
      if (episode === undefined) return refuse("step before reset: send {\"type\": \"reset\"} first")
      // After done the episode is over: the final observation again, reward 0 (a client summing rewards counts it once).
      if (!done) {
        const r = episode.step(action.message)
        stepCount++
        observation = r.observation
        done = r.done
        return Result.succeed({ observation: { text: observation, available_actions: validActions(), instruction: null, task_id: taskId, max_steps: maxSteps }, reward: r.reward, done })
      }
      return Result.succeed({ observation: { text: observation, available_actions: [], instruction: null, task_id: taskId, max_steps: maxSteps }, reward: 0, done: true })
    },
    state: () => ({ episode_id: episodeId, step_count: stepCount, task_id: taskId, max_steps: maxSteps, done })
  }
}
