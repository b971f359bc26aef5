/**
 * The scripted house expert. It acts only on what it has seen: it searches the receptacles where
 * the object is most likely to be (Task.searchOrder, the catalogue's priors), opening closed ones,
 * remembers what it saw, takes the object, cleans / heats / cools it at the sinkbasin / microwave /
 * fridge, and puts it in/on the first target receptacle (for the light task: finds the desklamp and
 * uses it while holding the object; for the pair task: places two, one at a time). Every action
 * comes with a short templated thought.
 */
import * as Catalog from "./Catalog.ts"
import * as Task from "./Task.ts"
import { World } from "./World.ts"

export interface Plan {
  readonly actions: ReadonlyArray<string>
  readonly thoughts: ReadonlyArray<string>
  /** The reward the plan reached when replayed. */
  readonly reward: number
}

const article = (word: string): string => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`)
const capital = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1)

/** "countertop, cabinet and fridge" from search order, distinct types. */
const typesOf = (world: World, order: ReadonlyArray<number>): string => {
  const types: Array<string> = []
  for (const r of order) {
    const t = world.spec.layout.receptacles[r].type
    if (!types.includes(t)) types.push(t)
  }
  return types.length <= 1 ? types.join("") : `${types.slice(0, -1).join(", ")} and ${types[types.length - 1]}`
}

/** Replays the expert on a fresh episode of `spec`; stops early when `budget` actions are spent. */
export const solve = (spec: Task.Spec, maxSteps: number, budget: number): Plan => {
  const world = new World(spec, maxSteps)
  const recs = spec.layout.receptacles
  const actions: Array<string> = []
  const thoughts: Array<string> = []
  const seen = new Map<number, number>() // item -> receptacle where it was last seen
  const visited = new Set<number>()
  let out = false // budget spent or episode over

  const act = (action: string, thought: string): void => {
    if (out) return
    actions.push(action)
    thoughts.push(thought)
    world.step(action)
    if (world.done || actions.length >= budget) out = true
  }
  const record = (r: number): void => {
    visited.add(r)
    for (const o of world.visible(r)) seen.set(o, r)
  }
  const goTo = (r: number, thought: string): void => {
    if (world.at === r) return
    act(`go to ${recs[r].name}`, thought)
    record(r)
  }
  const openIfClosed = (r: number, why = "to look inside"): void => {
    if (recs[r].openable && !world.isOpen(r)) {
      act(`open ${recs[r].name}`, `The ${recs[r].name} is closed. I open it ${why}.`)
      record(r)
    }
  }
  /** An item of `type` seen (and still) somewhere other than a receptacle of type `exclude`. */
  const known = (type: string, exclude: string | undefined): number => {
    for (const [o, r] of seen) {
      if (spec.items[o].type === type && world.where(o) === r && recs[r].type !== exclude) return o
    }
    return -1
  }

  /** Finds an item of the task's object type (not in/on `exclude`) and takes it. */
  const findAndTake = (exclude: string | undefined, nth: "first" | "second"): number => {
    const x = spec.object
    const sources = Catalog.objectType.get(x)?.sources ?? []
    const order = Task.searchOrder(spec.layout, sources, exclude)
    let first = true
    while (!out) {
      const o = known(x, exclude)
      if (o >= 0) {
        const r = seen.get(o) ?? -1
        goTo(r, `I saw ${article(x)} in/on the ${recs[r].name}. I go there to take it.`)
        openIfClosed(r)
        act(`take ${spec.items[o].name} from ${recs[r].name}`, `Now I find ${article(x)} (${spec.items[o].name}). Next, I take it.`)
        return o
      }
      const next = order.find((r) => !visited.has(r))
      if (next === undefined) return -1
      const need = nth === "first" ? `First I need to find ${article(x)}.` : `Next, I need to find another ${x}.`
      const thought = first
        ? `${need} ${capital(article(x))} is more likely to appear in ${typesOf(world, order)}. I check ${recs[next].name} first.`
        : `There is no ${x} here. Next, I check ${recs[next].name}.`
      first = false
      goTo(next, thought)
      openIfClosed(next)
    }
    return -1
  }

  const place = (o: number, r: number, adjective: string): void => {
    const name = spec.items[o].name
    goTo(r, `Now I have ${article(adjective + spec.object)} (${name}). Next, I put it in/on ${recs[r].name}.`)
    openIfClosed(r, `to put the ${spec.object} in it`)
    act(`put ${name} in/on ${recs[r].name}`, `I put ${name} in/on ${recs[r].name}.`)
  }

  /** The lowest-numbered receptacle of a type (present: generation forces it). */
  const firstOf = (type: string): number => {
    let best = -1
    recs.forEach((r, i) => {
      if (r.type === type && (best < 0 || r.num < recs[best].num)) best = i
    })
    return best
  }

  const type = spec.type
  if (type === "look_at_obj_in_light") {
    const o = findAndTake(undefined, "first")
    if (o >= 0) {
      let host = spec.lamp >= 0 && seen.has(spec.lamp) ? (seen.get(spec.lamp) ?? -1) : -1
      if (host >= 0) {
        goTo(host, `Now I have the ${spec.object}. I saw the desklamp on the ${recs[host].name}. I go there.`)
      } else {
        const order = Task.searchOrder(spec.layout, Catalog.lampHosts, undefined)
        let firstLook = true
        for (const r of order) {
          if (out || host >= 0) break
          if (visited.has(r)) continue
          goTo(r, firstLook
            ? `Now I have the ${spec.object}. Next, I need to find a desklamp. A desklamp is more likely to appear in ${typesOf(world, order)}. I check ${recs[r].name} first.`
            : `There is no desklamp here. Next, I check ${recs[r].name}.`)
          firstLook = false
          if (world.visible(r).includes(spec.lamp)) host = r
        }
      }
      if (host >= 0) act(`use ${spec.items[spec.lamp].name}`, `Now I find the desklamp. Next, I turn it on to look at the ${spec.object} under it.`)
    }
  } else {
    const target = firstOf(spec.target)
    const appliance = Task.applianceOf(type)
    const o = findAndTake(spec.target, "first")
    if (o >= 0 && target >= 0) {
      let adjective = ""
      if (appliance !== undefined) {
        const a = firstOf(appliance)
        const verb = type === "pick_clean_then_place" ? "clean" : type === "pick_heat_then_place" ? "heat" : "cool"
        adjective = verb === "clean" ? "clean " : verb === "heat" ? "hot " : "cool "
        goTo(a, `Now I take ${article(spec.object)} (${spec.items[o].name}). Next, I go to ${recs[a].name} to ${verb} it.`)
        act(`${verb} ${spec.items[o].name} with ${recs[a].name}`, `I ${verb} ${spec.items[o].name} with ${recs[a].name}.`)
      }
      place(o, target, adjective)
      if (type === "pick_two_obj_and_place") {
        const o2 = findAndTake(spec.target, "second")
        if (o2 >= 0) place(o2, target, "")
      }
    }
  }
  return { actions, thoughts, reward: world.reward }
}
