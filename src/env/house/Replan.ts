/**
 * The house expert as a policy: its next action from any state, not only along its own plan. DAgger-style data
 * (src/env/Relabel.ts) asks it what to do after an agent's actions, mistakes included: the states a policy reaches
 * and behaviour cloning never shows. It acts as the scripted expert (Expert.solve) does, on what the agent has seen:
 * the memory of where items were seen and which receptacles were reached or looked into is rebuilt from the episode's
 * own observations (`Memory.observe` after every action), never from hidden state. From a fresh episode it gives
 * Expert.solve's actions one by one (tested), so its labels agree with the demonstrations; from elsewhere it
 * continues that plan: it searches where it has not looked yet, opens what it reached closed, puts down a wrong item
 * it holds, and goes on with whichever part of the task is not done.
 */
import * as Catalog from "./Catalog.ts"
import * as Task from "./Task.ts"
import type { World } from "./World.ts"

/** What the agent has seen so far in an episode. */
export class Memory {
  /** item -> receptacle where it was last seen, in the order items were first seen (the expert takes the first). */
  readonly seen = new Map<number, number>()
  /** Receptacles the agent has been at. */
  readonly visited = new Set<number>()
  /** Receptacles whose inside the agent has seen (reached open, or not openable). */
  readonly looked = new Set<number>()

  /** Records what is in view after an action. */
  observe(world: World): void {
    const r = world.at
    if (r < 0) return
    this.visited.add(r)
    if (!world.accessible(r)) return
    this.looked.add(r)
    for (const o of world.visible(r)) this.seen.set(o, r)
  }
}

/** The lowest-numbered receptacle of a type (generation puts one in every layout that needs it), -1 when none. */
const firstOf = (world: World, type: string): number => {
  const recs = world.spec.layout.receptacles
  let best = -1
  recs.forEach((r, i) => {
    if (r.type === type && (best < 0 || r.num < recs[best]!.num)) best = i
  })
  return best
}

/** An item of the task's object type seen where it still is, not in/on a receptacle of type `exclude`; -1 when none. */
const known = (world: World, memory: Memory, exclude: string | undefined): number => {
  const spec = world.spec
  for (const [o, r] of memory.seen) {
    if (spec.items[o]!.type === spec.object && world.where(o) === r && spec.layout.receptacles[r]!.type !== exclude) return o
  }
  return -1
}

/** The next step of finding and taking the task's object (not from a receptacle of type `exclude`), if any is left. */
const findAndTake = (world: World, memory: Memory, exclude: string | undefined): string | undefined => {
  const spec = world.spec
  const recs = spec.layout.receptacles
  const o = known(world, memory, exclude)
  if (o >= 0) {
    const r = world.where(o)
    if (world.at !== r) return `go to ${recs[r]!.name}`
    if (!world.accessible(r)) return `open ${recs[r]!.name}`
    return `take ${spec.items[o]!.name} from ${recs[r]!.name}`
  }
  const order = Task.searchOrder(spec.layout, Catalog.objectType.get(spec.object)?.sources ?? [], exclude)
  // reached closed and never looked into: open it (the expert opens what it goes to search)
  if (world.at >= 0 && order.includes(world.at) && !world.accessible(world.at) && !memory.looked.has(world.at)) {
    return `open ${recs[world.at]!.name}`
  }
  const next = order.find((r) => !memory.looked.has(r))
  return next === undefined ? undefined : `go to ${recs[next]!.name}`
}

/** Puts down an item that is not the task's, where the agent is (opening it first when closed). */
const putDown = (world: World): string | undefined => {
  const recs = world.spec.layout.receptacles
  if (world.at < 0) return undefined
  if (!world.accessible(world.at)) return `open ${recs[world.at]!.name}`
  return `put ${world.spec.items[world.held]!.name} in/on ${recs[world.at]!.name}`
}

const verbOf = (type: Task.TaskType): "clean" | "heat" | "cool" | undefined =>
  type === "pick_clean_then_place" ? "clean" : type === "pick_heat_then_place" ? "heat" : type === "pick_cool_then_place" ? "cool" : undefined

/** The light task: take the object, then find the desklamp and turn it on while holding it there. */
const light = (world: World, memory: Memory): string | undefined => {
  const spec = world.spec
  const recs = spec.layout.receptacles
  if (world.held >= 0 && spec.items[world.held]!.type !== spec.object) return putDown(world)
  if (world.held < 0) return findAndTake(world, memory, undefined)
  const host = spec.lamp >= 0 ? memory.seen.get(spec.lamp) : undefined // the lamp never moves
  if (host !== undefined) {
    if (world.at !== host) return `go to ${recs[host]!.name}`
    return world.lampOn ? undefined : `use ${spec.items[spec.lamp]!.name}`
  }
  const next = Task.searchOrder(spec.layout, Catalog.lampHosts, undefined).find((r) => !memory.visited.has(r))
  return next === undefined ? undefined : `go to ${recs[next]!.name}`
}

/** The placing tasks: take the object, clean / heat / cool it when asked, put it in/on the first target; twice for the pair. */
const placing = (world: World, memory: Memory): string | undefined => {
  const spec = world.spec
  const recs = spec.layout.receptacles
  const target = firstOf(world, spec.target)
  if (target < 0) return undefined
  if (world.held < 0) return findAndTake(world, memory, spec.target)
  const held = world.held
  const name = spec.items[held]!.name
  if (spec.items[held]!.type !== spec.object) return putDown(world)
  const verb = verbOf(spec.type)
  if (verb !== undefined && !world.treated(held, verb)) {
    const a = firstOf(world, Task.applianceOf(spec.type) ?? "")
    if (a < 0) return undefined
    return world.at !== a ? `go to ${recs[a]!.name}` : `${verb} ${name} with ${recs[a]!.name}`
  }
  if (world.at !== target) return `go to ${recs[target]!.name}`
  if (!world.accessible(target)) return `open ${recs[target]!.name}`
  return `put ${name} in/on ${recs[target]!.name}`
}

/** The expert's next action in `world` given what `memory` holds; undefined when the episode is over or it has none. */
export const next = (world: World, memory: Memory): string | undefined => {
  if (world.done) return undefined
  return world.spec.type === "look_at_obj_in_light" ? light(world, memory) : placing(world, memory)
}
