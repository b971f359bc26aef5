/**
 * House tasks: ALFWorld's six task types, the (task type, object, target) combinations that the
 * catalogue allows, their split between train and test, and the generation of one task (a layout,
 * objects placed by their priors, a goal in ALFWorld's templated wording) from its id.
 *
 * Splits: a test task has a combination held out from training AND a layout held out from training
 * (Layout.splitOf), so train and test share neither.
 */
import type { Split, TaskRef } from "../../domain/TaskId.ts"
import * as Catalog from "./Catalog.ts"
import * as Layout from "./Layout.ts"
import * as Hash from "../../random/Hash.ts"
import * as Rng from "../../random/Rng.ts"

export const taskTypes = [
  "pick_and_place",
  "pick_clean_then_place",
  "pick_heat_then_place",
  "pick_cool_then_place",
  "look_at_obj_in_light",
  "pick_two_obj_and_place"
] as const
export type TaskType = (typeof taskTypes)[number]

/** ALFWorld's goal templates (alfworld/gen/goal_library.py), two per task type. */
const templates: Readonly<Record<TaskType, readonly [string, string]>> = {
  pick_and_place: ["put a {obj} in {recep}", "put some {obj} on {recep}"],
  pick_clean_then_place: ["put a clean {obj} in {recep}", "clean some {obj} and put it in {recep}"],
  pick_heat_then_place: ["put a hot {obj} in {recep}", "heat some {obj} and put it in {recep}"],
  pick_cool_then_place: ["put a cool {obj} in {recep}", "cool some {obj} and put it in {recep}"],
  look_at_obj_in_light: ["look at {obj} under the {recep}", "examine the {obj} with the {recep}"],
  pick_two_obj_and_place: ["put two {obj} in {recep}", "find two {obj} and put them in {recep}"]
}

/** The receptacle type a task type transforms its object with (clean, heat, cool), if any. */
export const applianceOf = (type: TaskType): string | undefined =>
  type === "pick_clean_then_place" ? "sinkbasin"
  : type === "pick_heat_then_place" ? "microwave"
  : type === "pick_cool_then_place" ? "fridge"
  : undefined

const affords = (o: Catalog.ObjectType, type: TaskType): boolean =>
  type === "pick_clean_then_place" ? o.clean
  : type === "pick_heat_then_place" ? o.heat
  : type === "pick_cool_then_place" ? o.cool
  : type === "look_at_obj_in_light" ? o.look
  : true

/** Transforming in the appliance and then putting it back there is no task (ALFWorld has none). */
const pointless = (type: TaskType, target: string): boolean =>
  (type === "pick_clean_then_place" && Catalog.cleaners.includes(target)) ||
  (type === "pick_heat_then_place" && Catalog.heaters.includes(target)) ||
  (type === "pick_cool_then_place" && Catalog.coolers.includes(target))

export interface Combo {
  readonly type: TaskType
  readonly object: string
  /** A receptacle type, or `desklamp` for the light task. */
  readonly target: string
  /** Room types where the task can be set. */
  readonly rooms: ReadonlyArray<Catalog.Room>
}

/** Where instances of an object start in a room: its sources present in the room, minus the target. */
const sourcesIn = (o: Catalog.ObjectType, room: Catalog.Room, exclude: string | undefined) =>
  o.sources.filter(([t]) => t !== exclude && Catalog.maxCount(room, t) > 0)

const feasible = (type: TaskType, o: Catalog.ObjectType, target: string, room: Catalog.Room): boolean => {
  if (!o.rooms.includes(room)) return false
  const appliance = applianceOf(type)
  if (appliance !== undefined && Catalog.maxCount(room, appliance) === 0) return false
  if (type === "look_at_obj_in_light") return Catalog.lampRooms.includes(room) && sourcesIn(o, room, undefined).length > 0
  return Catalog.maxCount(room, target) > 0 && sourcesIn(o, room, target).length > 0
}

const allCombos = (type: TaskType): Array<Combo> => {
  const out: Array<Combo> = []
  for (const o of Catalog.objectTypes) {
    if (!affords(o, type)) continue
    const targets = type === "look_at_obj_in_light" ? [Catalog.lamp] : o.targets
    for (const target of targets) {
      if (pointless(type, target)) continue
      const rooms = Catalog.rooms.filter((room) => feasible(type, o, target, room))
      if (rooms.length > 0) out.push({ type, object: o.name, target, rooms })
    }
  }
  return out
}

// One combination in five (per task type) is held out for testing, as layouts are.
const testShare = 0.2

/** Every combination of a seed, split into train and test; per task type, in `taskTypes` order. */
export interface Universe {
  readonly seed: number
  readonly combos: Readonly<Record<Split, ReadonlyArray<ReadonlyArray<Combo>>>>
}

export const universe = (seed: number): Universe => {
  const train: Array<ReadonlyArray<Combo>> = []
  const test: Array<ReadonlyArray<Combo>> = []
  for (const type of taskTypes) {
    const shuffled = Rng.make(Hash.parts(seed, "combos", type)).shuffle(allCombos(type))
    const nTest = Math.max(1, Math.round(shuffled.length * testShare))
    test.push(shuffled.slice(0, nTest))
    train.push(shuffled.slice(nTest))
  }
  return { seed, combos: { train, test } }
}

export interface Item {
  readonly name: string
  readonly type: string
  /** Index of the receptacle it starts in/on. */
  readonly at: number
}

export interface Spec {
  readonly taskId: string
  readonly type: TaskType
  readonly object: string
  readonly target: string
  /** The task as ALFWorld words it, without the final period: `put a clean mug in coffeemachine`. */
  readonly goal: string
  readonly layout: Layout.Layout
  /** Objects in the order they are listed in their receptacle. */
  readonly items: ReadonlyArray<Item>
  /** Index of the desklamp among the items, or -1. */
  readonly lamp: number
  readonly receptacleIndex: ReadonlyMap<string, number>
  readonly itemIndex: ReadonlyMap<string, number>
}

/** A spec from its parts (the lamp and the name indexes are derived). */
export const spec = (parts: Omit<Spec, "lamp" | "receptacleIndex" | "itemIndex">): Spec => ({
  ...parts,
  lamp: parts.items.findIndex((it) => it.type === Catalog.lamp),
  receptacleIndex: new Map(parts.layout.receptacles.map((r, i) => [r.name, i])),
  itemIndex: new Map(parts.items.map((it, i) => [it.name, i]))
})

/**
 * Receptacles to search for something that starts on `sources` (`[type, weight]`), most likely
 * first: by weight, then by the catalogue's type order, then by number.
 */
export const searchOrder = (
  layout: Layout.Layout,
  sources: ReadonlyArray<readonly [string, number]>,
  exclude: string | undefined
): Array<number> => {
  const weight = new Map(sources.filter(([t]) => t !== exclude))
  const rank = (i: number) => Catalog.receptacleTypes.indexOf(layout.receptacles[i].type)
  return layout.receptacles
    .map((_, i) => i)
    .filter((i) => weight.has(layout.receptacles[i].type))
    .sort((a, b) =>
      (weight.get(layout.receptacles[b].type) ?? 0) - (weight.get(layout.receptacles[a].type) ?? 0) ||
      rank(a) - rank(b) ||
      layout.receptacles[a].num - layout.receptacles[b].num
    )
}

/** The target receptacle type of a placing task (none for the light task). */
export const placeTarget = (spec: Pick<Spec, "type" | "target">): string | undefined =>
  spec.type === "look_at_obj_in_light" ? undefined : spec.target

/** Receptacle indices of `sources` present in the layout, with their weights. */
const present = (layout: Layout.Layout, sources: ReadonlyArray<readonly [string, number]>, exclude: string | undefined) => {
  const weight = new Map(sources.filter(([t]) => t !== exclude))
  const at: Array<number> = []
  const weights: Array<number> = []
  layout.receptacles.forEach((r, i) => {
    const w = weight.get(r.type)
    if (w !== undefined) {
      at.push(i)
      weights.push(w)
    }
  })
  return { at, weights }
}

/**
 * The task `ref` of a universe. `attempt` redraws only the placement of objects; with `easy`, the
 * task's objects (and the lamp) go where the expert looks first, which bounds the expert's length.
 */
export const generate = (u: Universe, ref: TaskRef, attempt: number, easy: boolean): Spec => {
  const rng = Rng.make(Hash.parts(u.seed, "task", ref.split, ref.index))
  const type = taskTypes[rng.int(taskTypes.length)]
  const combo = rng.pick(u.combos[ref.split][taskTypes.indexOf(type)])
  const room = rng.pick(combo.rooms)
  const object = Catalog.objectType.get(combo.object)
  if (object === undefined) throw new Error(`house: unknown object type ${combo.object}`)
  const exclude = placeTarget({ type, target: combo.target })
  const sources = sourcesIn(object, room, exclude)
  const force = [sources[rng.weighted(sources.map(([, w]) => w))][0]]
  if (exclude !== undefined) force.push(exclude)
  const appliance = applianceOf(type)
  if (appliance !== undefined) force.push(appliance)
  const layout = Layout.sample(rng, u.seed, room, ref.split, force)
  const goal = rng.pick(templates[type]).replace("{obj}", combo.object).replace("{recep}", combo.target)

  const place = Rng.make(Hash.parts(u.seed, "place", ref.split, ref.index, attempt))
  const placed: Array<{ type: string; at: number }> = []
  const put = (typeName: string, where: { at: ReadonlyArray<number>; weights: ReadonlyArray<number> }, first: number | undefined) => {
    placed.push({ type: typeName, at: first ?? where.at[place.weighted(where.weights)] })
  }
  // The task's objects: one (two for the pair task), sometimes one more as a distractor.
  const xs = present(layout, object.sources, exclude)
  const firstX = easy ? searchOrder(layout, object.sources, exclude)[0] : undefined
  const nX = (type === "pick_two_obj_and_place" ? 2 : 1) + (place.next() < 0.3 ? 1 : 0)
  for (let i = 0; i < nX; i++) put(object.name, xs, firstX)
  // The lamp, in every living room and bedroom.
  if (Catalog.lampRooms.includes(room)) {
    const hosts = present(layout, Catalog.lampHosts, undefined)
    put(Catalog.lamp, hosts, easy ? searchOrder(layout, Catalog.lampHosts, undefined)[0] : undefined)
  }
  // Distractors of other types, by their own priors (about 0.7 per receptacle, 4 to 14).
  const others = Catalog.objectTypes.filter((o) => o.name !== object.name && o.rooms.includes(room))
    .map((o) => ({ o, where: present(layout, o.sources, undefined) }))
    .filter(({ where }) => where.at.length > 0)
  const nOthers = Math.min(14, Math.max(4, Math.round(layout.receptacles.length * 0.7)))
  for (let i = 0; i < nOthers; i++) {
    const { o, where } = place.pick(others)
    put(o.name, where, undefined)
  }
  // Number instances per type in a random order, and list them in a random order.
  const numbers = new Map<string, Array<number>>()
  for (const p of placed) numbers.set(p.type, [...(numbers.get(p.type) ?? []), (numbers.get(p.type)?.length ?? 0) + 1])
  for (const [t, ns] of numbers) numbers.set(t, place.shuffle(ns))
  const items: Array<Item> = place.shuffle(placed.map((p) => {
    const ns = numbers.get(p.type) ?? []
    return { name: `${p.type} ${ns.pop() ?? 1}`, type: p.type, at: p.at }
  }))
  return spec({ taskId: `${ref.split}:${ref.index}`, type, object: combo.object, target: combo.target, goal, layout, items })
}
