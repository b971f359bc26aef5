/**
 * The built-in `house` environment (ALFWorld-like, TextWorld wording): a room with numbered
 * receptacles, objects placed by type-dependent priors, ALFWorld's six task types, and a scripted
 * expert. Deterministic given the seed and the task id. See docs/env-house.md.
 */
import type { Split } from "../../domain/TaskId.ts"
import * as TaskId from "../../domain/TaskId.ts"
import type { SimEpisode, Simulator } from "../Simulator.ts"
import * as Expert from "./Expert.ts"
import * as Replan from "./Replan.ts"
import * as Task from "./Task.ts"
import { World } from "./World.ts"

/** The environment's prompt: ETO's / AgentGym's ALFWorld instruction, with this house's actions. */
export const instruction = `Interact with a household to solve a task. Imagine you are an intelligent agent in a household environment and your target is to perform actions to complete the task goal. At the beginning of your interactions, you will be given the detailed description of the current environment and your goal to accomplish.
For each of your turn, you will be given the observation of the last turn. You should first think about the current condition and plan for your future actions, and then output your action in this turn. Your output must strictly follow this format:"Thought: your thoughts.\\nAction: your next action".

The available actions are:
1. go to {recep}
2. take {obj} from {recep}
3. put {obj} in/on {recep}
4. open {recep}
5. close {recep}
6. use {obj}
7. clean {obj} with {recep}
8. heat {obj} with {recep}
9. cool {obj} with {recep}
10. examine {obj} or examine {recep}
11. look
12. inventory
where {obj} and {recep} correspond to objects and receptacles.
After your each turn, the environment will give you immediate feedback based on which you plan your next few steps. If the environment outputs "Nothing happens.", that means the previous action is invalid and you should try more options.

Your response should use the following format:

Thought: <your thoughts>
Action: <your next action>`

// ReAct's ALFWorld runs allow about 50 actions an episode (its loop stops at 49).
export const maxSteps = 50
// The expert finishes within 40 actions, leaving a policy 10 actions of slack for detours.
export const expertBudget = 40
// Train 5,000 tasks (ALFWorld's train set has ~3,500 games); test 500 (room for a sound success rate).
export const sizes: Readonly<Record<Split, number>> = { train: 5000, test: 500 }
// After this many unlucky placements (expert over budget), the task's objects go where it looks first.
const easyAfter = 8
// Generated tasks kept for the next start/expert call on the same id (a replay asks for both).
const cacheSize = 256

export interface Solved {
  readonly spec: Task.Spec
  readonly plan: Expert.Plan
}

/** The task of an id and its expert plan (the placement is redrawn until the expert is within budget). */
export const solve = (universe: Task.Universe, taskId: string): Solved => {
  const ref = TaskId.parse(taskId)
  if (ref === undefined || ref.index >= sizes[ref.split]) throw new Error(`house: unknown task ${taskId}`)
  for (let attempt = 0; attempt <= easyAfter; attempt++) {
    const spec = Task.generate(universe, ref, attempt, attempt === easyAfter)
    const plan = Expert.solve(spec, maxSteps, expertBudget)
    if (plan.reward === 1) return { spec, plan }
  }
  throw new Error(`house: the expert cannot solve ${taskId}`)
}

export const make = (options?: { readonly seed?: number }): Simulator => {
  // Seed 0: the shipped datasets and the docs use it; any fixed seed gives the same tasks every run.
  const seed = options?.seed ?? 0
  const universe = Task.universe(seed)
  const cache = new Map<string, Solved>()
  const solved = (taskId: string): Solved => {
    const hit = cache.get(taskId)
    if (hit !== undefined) return hit
    const s = solve(universe, taskId)
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value ?? "")
    cache.set(taskId, s)
    return s
  }
  return {
    name: "house",
    instruction,
    size: (split) => sizes[split],
    start: (taskId): SimEpisode => {
      const world = new World(solved(taskId).spec, maxSteps)
      return {
        episode: { taskId, instruction, observation: world.intro(), maxSteps },
        step: (action) => world.step(action),
        validActions: () => world.validActions()
      }
    },
    expert: (taskId) => solved(taskId).plan.actions,
    expertThoughts: (taskId) => solved(taskId).plan.thoughts,
    expertAfter: (taskId, actions) => {
      const world = new World(solved(taskId).spec, maxSteps)
      const memory = new Replan.Memory()
      for (const a of actions) {
        world.step(a)
        memory.observe(world)
      }
      return Replan.next(world, memory)
    }
  }
}
