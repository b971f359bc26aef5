import type { Step } from "../domain/Step.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as Hash from "../random/Hash.ts"
import * as Rng from "../random/Rng.ts"
import * as Recovery from "./Recovery.ts"
import type { Simulator } from "./Simulator.ts"

/**
 * Replays a simulator's expert on one task and records the trajectory (pure, synchronous).
 * The steps are what the environment answered, so the record is exactly what an agent would have seen.
 * With `recoveries` > 0, mistakes are inserted before expert actions at that rate and flagged `loss: false`
 * (src/env/Recovery.ts): the draws come from the seed and the task id, so the data is the same on every run.
 */
export const trajectory = (
  sim: Simulator,
  taskId: string,
  options: { readonly thoughts: boolean; readonly seed: number; readonly recoveries?: number; readonly recoveryKinds?: ReadonlyArray<Recovery.Kind> | undefined }
): Trajectory => {
  const run = sim.start(taskId)
  const expert = sim.expert(taskId)
  const thoughts = options.thoughts ? sim.expertThoughts?.(taskId) : undefined
  const rate = options.recoveries ?? 0
  const planned = rate > 0
    ? Recovery.plan(sim, taskId, expert, rate, Rng.make(Hash.parts(options.seed, "recoveries", taskId)), options.recoveryKinds)
    : expert.map((action) => ({ action, mistake: false }))
  const steps: Array<Step> = []
  let observation = run.episode.observation
  let reward = 0
  let done = false
  let k = 0 // the expert action planned next
  for (let i = 0; i < planned.length && !done; i++) {
    const { action, mistake } = planned[i]!
    const thought = mistake ? undefined : thoughts?.[k]
    if (!mistake) k++
    steps.push(thought === undefined ? { observation, action } : { observation, thought, action })
    const r = run.step(action)
    observation = r.observation
    reward = r.reward
    done = r.done
  }
  const mistakes = planned.slice(0, steps.length).map((p) => p.mistake)
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
    source: `generated:${sim.name}`,
    // AgentGym's flags: prompt and observations null, acknowledgement false, actions true but for the mistakes
    ...(mistakes.includes(true) ? { turnLoss: [null, false, ...mistakes.flatMap((m) => [null, !m]), null] } : {})
  }
}
