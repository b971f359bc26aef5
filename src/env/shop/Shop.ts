import * as TaskId from "../../domain/TaskId.ts"
import type { Simulator } from "../Simulator.ts"
import * as Browser from "./Browser.ts"
import * as Expert from "./Expert.ts"
import * as Goal from "./Goal.ts"
import * as Replan from "./Replan.ts"
import * as World from "./World.ts"

/** Step limit: the expert needs at most 10 (search, 4 x Next >, product, 3 options, Buy Now); ETO allows WebShop 10, 15 leaves room to explore. */
export const maxSteps = 15

/** The environment's prompt, in the form ETO uses for WebShop (the goal comes in the first observation). */
export const instruction = [
  "You are web shopping.",
  "I will give you instructions about what to do.",
  "You have to follow the instructions.",
  "Every round I will give you an observation and a list of available actions, you have to respond an action based on the state and instruction.",
  "You can use search action if search is available.",
  "You can click one of the buttons in clickables.",
  "An action should be of the following structure:",
  "search[keywords]",
  "click[value]",
  "If the action is not valid, perform nothing.",
  "Keywords in search are up to you, but the value in click must be a value in the list of available actions.",
  "Remember that your keywords in search should be carefully designed.",
  "Your response should use the following format:",
  "",
  "Thought: I think ...",
  "Action: click[something]"
].join("\n")

const goalOf = (world: World.World, taskId: string): Goal.Goal => {
  const ref = TaskId.parse(taskId)
  if (ref === undefined || ref.index >= Goal.sizes[ref.split]) throw new Error(`shop: unknown task ${taskId}`)
  return world.goal(ref.split, ref.index)
}

/**
 * The built-in WebShop-like environment. Everything (catalogue, tasks, search index, pages) is
 * generated from `seed` on first use and shared by all episodes of this simulator. `expert` chooses the scripted
 * expert's plans (Expert.Style; default `direct`); the environment itself is the same.
 */
export const make = (options?: { readonly seed?: number; readonly expert?: Expert.Style }): Simulator => {
  // Seed 0: the world the shipped data and the docs describe.
  const world = World.make(options?.seed ?? 0)
  const explore = options?.expert === "explore"
  // per task, planned once: the expert's plan (Expert.planExplore's when exploring) and what its replanning knows
  const planned = new Map<string, { readonly plan: Expert.Plan; readonly task: Replan.Task }>()
  const of = (taskId: string) => {
    let p = planned.get(taskId)
    if (p === undefined) {
      const goal = goalOf(world, taskId)
      const explored = explore ? Expert.explored(world, goal, maxSteps) : undefined
      const plan = explored ?? Expert.plan(world, goal)
      // both experts search with the direct plan's words: the plan's first action
      p = { plan, task: { goal, query: plan.actions[0]!.slice("search[".length, -1), explores: explored !== undefined } }
      planned.set(taskId, p)
    }
    return p
  }
  const plan = (taskId: string): Expert.Plan => of(taskId).plan
  return {
    name: "shop",
    instruction,
    size: (split) => Goal.sizes[split],
    start: (taskId) => Browser.start(world, taskId, goalOf(world, taskId), instruction, maxSteps),
    expert: (taskId) => plan(taskId).actions,
    expertThoughts: (taskId) => plan(taskId).thoughts,
    expertAfter: (taskId, actions) => {
      const t = of(taskId).task
      const episode = Browser.start(world, taskId, t.goal, instruction, maxSteps)
      const looked: Replan.Looked = new Set()
      for (const a of actions) {
        episode.step(a)
        Replan.observe(looked, episode.view())
      }
      return Replan.next(world, t, episode.view(), looked)
    }
  }
}
