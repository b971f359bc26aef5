import type { Trajectory } from "../domain/Trajectory.ts"
import * as Expert from "./Expert.ts"
import type { Simulator } from "./Simulator.ts"

/**
 * DAgger-style data (Ross et al., 2011): the states a policy reaches, labelled with what the expert would do there.
 * Behaviour cloning never shows a policy a state after its own mistake, so one error leads it where it has never
 * been (measured on house: 190 of 200 held-out episodes met "Nothing happens." and most then repeated one action).
 * From one rollout of the policy, the expert (`Simulator.expertAfter`) labels every state; each state off the
 * expert's path (after a mistake of the agent) where the agent's action differs from the label is a cut, and each
 * cut gives one trajectory: the agent's own actions up to the cut (targets where they agree with the expert's label
 * there, context where they do not), then the expert's actions from the cut to the end of the episode (targets).
 * The episode is replayed, so every observation is what the environment answered. Pure and synchronous.
 */
export interface Options {
  /** Cuts per rollout at most, the first ones: the first mistakes are where a policy leaves the expert's states. */
  readonly cuts: number
  /** Distinguishes the trajectories of this rollout (`<id>-cut<c>`). */
  readonly id: string
}

/** The expert's label at every state of a rollout of `actions` (undefined where it has none). */
export const labels = (sim: Simulator, taskId: string, actions: ReadonlyArray<string>): Array<string | undefined> => {
  const after = sim.expertAfter
  if (after === undefined) throw new Error(`${sim.name}: the expert cannot act from any state (no expertAfter)`)
  return actions.map((_, t) => after(taskId, actions.slice(0, t)))
}

/** The states of a rollout where the trajectories are cut: off the expert's path, the agent's action not the label. */
export const cuts = (actions: ReadonlyArray<string>, labelled: ReadonlyArray<string | undefined>, max: number): Array<number> => {
  const out: Array<number> = []
  let off = false // a mistake came before this state
  for (let t = 0; t < actions.length && out.length < max; t++) {
    const label = labelled[t]
    const agrees = label !== undefined && actions[t]!.trim() === label
    if (off && label !== undefined && !agrees) out.push(t)
    if (!agrees) off = true
  }
  return out
}

/** The DAgger trajectories of one rollout of the policy on `taskId` (its actions in order). */
export const relabel = (sim: Simulator, taskId: string, actions: ReadonlyArray<string>, options: Options): Array<Trajectory> => {
  const after = sim.expertAfter
  if (after === undefined) throw new Error(`${sim.name}: the expert cannot act from any state (no expertAfter)`)
  const labelled = labels(sim, taskId, actions)
  const maxSteps = sim.start(taskId).episode.maxSteps
  return cuts(actions, labelled, options.cuts).map((cut) => {
    const taken = actions.slice(0, cut)
    const turns: Array<Expert.Turn> = taken.map((action, t) => ({ action, target: action.trim() === labelled[t] }))
    while (taken.length < maxSteps) {
      const next = after(taskId, taken)
      if (next === undefined) break
      taken.push(next)
      turns.push({ action: next, target: true })
    }
    // the agent's actions that disagree with the expert are context (`loss: false`), every other action a target
    return Expert.replayed(sim, taskId, turns, { id: `${options.id}-cut${cut}`, source: `relabelled:${sim.name}` })
  })
}
