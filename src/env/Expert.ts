import type { Step } from "../domain/Step.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import type { Simulator } from "./Simulator.ts"

/**
 * Replays a simulator's expert on one task and records the trajectory (pure, synchronous).
 * The steps are what the environment answered, so the record is exactly what an agent would have seen.
 */
export const trajectory = (sim: Simulator, taskId: string, options: { readonly thoughts: boolean; readonly seed: number }): Trajectory => {
  const run = sim.start(taskId)
  const actions = sim.expert(taskId)
  const thoughts = options.thoughts ? sim.expertThoughts?.(taskId) : undefined
  const steps: Array<Step> = []
  let observation = run.episode.observation
  let reward = 0
  let done = false
  for (let i = 0; i < actions.length && !done; i++) {
    const action = actions[i]!
    const thought = thoughts?.[i]
    steps.push(thought === undefined ? { observation, action } : { observation, thought, action })
    const r = run.step(action)
    observation = r.observation
    reward = r.reward
    done = r.done
  }
  return {
    id: `${sim.name}-${options.seed}-${taskId}`,
    env: sim.name,
    taskId,
    instruction: run.episode.instruction,
    ack: "OK",
    steps,
    finalObservation: observation,
    reward,
    success: done && reward >= 1,
    source: `generated:${sim.name}`
  }
}
