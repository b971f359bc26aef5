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
  const expert = sim.expert(taskId)
  const thoughts = options.thoughts ? sim.expertThoughts?.(taskId) : undefined
  const rate = options.recoveries ?? 0
  const planned = rate > 0
    ? Recovery.plan(sim, taskId, expert, rate, Rng.make(Hash.parts(options.seed, "recoveries", taskId)), options.recoveryKinds)
    : expert.map((action) => ({ action, mistake: false }))
  let k = 0 // the expert action planned next
  const turns = planned.map(({ action, mistake }): Turn => {
    const thought = mistake ? undefined : thoughts?.[k++]
    return { action, target: !mistake, ...(thought === undefined ? {} : { thought }) }
  })
  return replayed(sim, taskId, turns, { id: `${sim.name}-${options.seed}-${taskId}`, source: `generated:${sim.name}` })
}

/** One turn to replay: the action, whether it is a target of imitation, its thought when it has one. */
export interface Turn {
  readonly action: string
  readonly target: boolean
  readonly thought?: string
}

/**
 * The trajectory of `turns` played from a fresh episode of `taskId` (until the episode ends): every observation is what
 * the environment answered. Turns that are no target are flagged `loss: false` (`turnLoss`, AgentGym's flags: prompt and
 * observations null, acknowledgement false, actions true but for those); without such turns there are no flags.
 */
export const replayed = (sim: Simulator, taskId: string, turns: ReadonlyArray<Turn>, meta: { readonly id: string; readonly source: string }): Trajectory => {
  const run = sim.start(taskId)
  const steps: Array<Step> = []
  let observation = run.episode.observation
  let reward = 0
  let done = false
  for (let i = 0; i < turns.length && !done; i++) {
    const { action, thought } = turns[i]!
    steps.push(thought === undefined ? { observation, action } : { observation, thought, action })
    const r = run.step(action)
    observation = r.observation
    reward = r.reward
    done = r.done
  }
  const targets = turns.slice(0, steps.length).map((t) => t.target)
  return {
    id: meta.id,
    env: sim.name,
    taskId,
    instruction: run.episode.instruction,
    ack: "OK",
    steps,
    finalObservation: observation,
    reward,
    success: done && reward >= 1,
    source: meta.source,
    ...(targets.includes(false) ? { turnLoss: [null, false, ...targets.flatMap((m) => [null, m]), null] } : {})
  }
}
