/**
 * One running house episode: the state (where the agent is, what it holds, which receptacles are
 * open, where every object is and whether it is clean, hot or cool), the actions with ALFWorld's
 * TextWorld wording, the admissible commands, the goal check, the step count and the step limit.
 */
import type { StepResult } from "../Env.ts"
import * as Catalog from "./Catalog.ts"
import type { Spec } from "./Task.ts"

export const nothing = "Nothing happens."

const HELD = -2

/** TextWorld's list: "nothing", "a x", "a x, and a y", "a x, a y, and a z" (ALFWorld always says "a"). */
export const list = (names: ReadonlyArray<string>): string => {
  if (names.length === 0) return "nothing"
  if (names.length === 1) return `a ${names[0]}`
  let out = ""
  for (let i = 0; i < names.length - 1; i++) out += `a ${names[i]}, `
  return `${out}and a ${names[names.length - 1]}`
}

const normalise = (action: string): string => action.trim().replace(/\s+/g, " ").toLowerCase()

export class World {
  readonly spec: Spec
  readonly maxSteps: number
  /** Receptacle index the agent is at; -1 in the middle of the room. */
  at = -1
  /** Item index in hand; -1 for none. */
  held = -1
  steps = 0
  done = false
  reward = 0
  lampOn = false
  private readonly open: Uint8Array
  private readonly contents: Array<Array<number>>
  private readonly itemAt: Int32Array
  private readonly clean: Uint8Array
  private readonly hot: Uint8Array
  private readonly cool: Uint8Array

  constructor(spec: Spec, maxSteps: number) {
    this.spec = spec
    this.maxSteps = maxSteps
    const nr = spec.layout.receptacles.length
    const ni = spec.items.length
    this.open = new Uint8Array(nr)
    this.contents = Array.from({ length: nr }, () => [])
    this.itemAt = new Int32Array(ni)
    this.clean = new Uint8Array(ni)
    this.hot = new Uint8Array(ni)
    this.cool = new Uint8Array(ni)
    spec.items.forEach((it, i) => {
      this.itemAt[i] = it.at
      this.contents[it.at].push(i)
    })
  }

  /** The first observation: ALFWorld's welcome, the room, the task. */
  intro(): string {
    return `-= Welcome to TextWorld, ALFRED! =-\n\n${this.room()}\n\nYour task is to: ${this.spec.goal}.`
  }

  private room(): string {
    return `You are in the middle of a room. Looking quickly around you, you see ${list(this.spec.layout.receptacles.map((r) => r.name))}.`
  }

  /** Whether the inside of receptacle `r` can be seen and reached (open, or not openable). */
  accessible(r: number): boolean {
    return !this.spec.layout.receptacles[r].openable || this.open[r] === 1
  }

  isOpen(r: number): boolean {
    return this.open[r] === 1
  }

  /** Items visibly in/on receptacle `r` (none while it is closed). */
  visible(r: number): ReadonlyArray<number> {
    return this.accessible(r) ? this.contents[r] : []
  }

  /** Whether item `o` has been cleaned / heated / cooled (heating undoes cooling and the reverse). */
  treated(o: number, verb: "clean" | "heat" | "cool"): boolean {
    return (verb === "clean" ? this.clean : verb === "heat" ? this.hot : this.cool)[o] === 1
  }

  /** Receptacle index an item is in/on; -2 when held. */
  where(item: number): number {
    return this.itemAt[item]
  }

  private names(items: ReadonlyArray<number>): Array<string> {
    return items.map((i) => this.spec.items[i].name)
  }

  /** ALFWorld's examineReceptacle feedback. */
  private describe(r: number): string {
    const rec = this.spec.layout.receptacles[r]
    if (rec.openable) {
      return this.open[r] === 1 ? `The ${rec.name} is open. In it, you see ${list(this.names(this.contents[r]))}.` : `The ${rec.name} is closed.`
    }
    return `On the ${rec.name}, you see ${list(this.names(this.contents[r]))}.`
  }

  /** ALFWorld's examineObject feedback (first matching rule). */
  private examineItem(i: number): string {
    const it = this.spec.items[i]
    if (it.type === Catalog.lamp) return `This ${it.name} is ${this.lampOn ? "on" : "off"}.`
    const type = Catalog.objectType.get(it.type)
    if (type?.holder === true) return `This is a normal ${it.name}. In it, you see nothing.`
    const c = this.clean[i] === 1, h = this.hot[i] === 1, k = this.cool[i] === 1
    if (c && h) return `This is a hot and clean ${it.name}.`
    if (c && k) return `This is a cool and clean ${it.name}.`
    if (h) return `This is a hot ${it.name}.`
    if (c) return `This is a clean ${it.name}.`
    if (k) return `This is a cold ${it.name}.`
    return `There's nothing special about ${it.name}.`
  }

  /** Splits `o SEP r` into an item held or at hand and the receptacle the agent is at, or undefined. */
  private pair(rest: string, sep: string): readonly [number, number] | undefined {
    const k = rest.indexOf(sep)
    if (k < 0) return undefined
    const o = this.spec.itemIndex.get(rest.slice(0, k))
    const r = this.spec.receptacleIndex.get(rest.slice(k + sep.length))
    if (o === undefined || r === undefined || r !== this.at) return undefined
    return [o, r]
  }

  /** Applies one action and returns its observation; changes nothing but the state (no step count). */
  act(raw: string): string {
    if (typeof raw !== "string") return nothing
    const a = normalise(raw)
    const recs = this.spec.layout.receptacles
    if (a === "look") {
      return this.at < 0 ? this.room() : `You are facing the ${recs[this.at].name}. Next to it, you see nothing.`
    }
    if (a === "inventory") {
      return this.held < 0 ? "You are not carrying anything." : `You are carrying: a ${this.spec.items[this.held].name}.`
    }
    if (a.startsWith("go to ")) {
      const r = this.spec.receptacleIndex.get(a.slice(6))
      if (r === undefined || r === this.at) return nothing
      this.at = r
      return `You arrive at loc ${recs[r].loc}. ${this.describe(r)}`
    }
    if (a.startsWith("open ")) {
      const r = this.spec.receptacleIndex.get(a.slice(5))
      if (r === undefined || r !== this.at || !recs[r].openable || this.open[r] === 1) return nothing
      this.open[r] = 1
      return `You open the ${recs[r].name}. ${this.describe(r)}`
    }
    if (a.startsWith("close ")) {
      const r = this.spec.receptacleIndex.get(a.slice(6))
      if (r === undefined || r !== this.at || this.open[r] === 0) return nothing
      this.open[r] = 0
      return `You close the ${recs[r].name}.`
    }
    if (a.startsWith("take ")) {
      const p = this.pair(a.slice(5), " from ")
      if (p === undefined || this.held >= 0) return nothing
      const [o, r] = p
      if (this.itemAt[o] !== r || !this.accessible(r) || o === this.spec.lamp) return nothing
      const c = this.contents[r]
      c.splice(c.indexOf(o), 1)
      this.itemAt[o] = HELD
      this.held = o
      return `You pick up the ${this.spec.items[o].name} from the ${recs[r].name}.`
    }
    if (a.startsWith("put ")) {
      const p = this.pair(a.slice(4), " in/on ")
      if (p === undefined) return nothing
      const [o, r] = p
      if (this.held !== o || !this.accessible(r)) return nothing
      this.contents[r].push(o)
      this.itemAt[o] = r
      this.held = -1
      return `You put the ${this.spec.items[o].name} in/on the ${recs[r].name}.`
    }
    if (a.startsWith("clean ") || a.startsWith("heat ") || a.startsWith("cool ")) {
      const verb = a.slice(0, a.indexOf(" "))
      const p = this.pair(a.slice(verb.length + 1), " with ")
      if (p === undefined) return nothing
      const [o, r] = p
      if (this.held !== o || !this.transforms(verb, o, r)) return nothing
      if (verb === "clean") this.clean[o] = 1
      else if (verb === "heat") {
        this.hot[o] = 1
        this.cool[o] = 0
      } else {
        this.cool[o] = 1
        this.hot[o] = 0
      }
      return `You ${verb} the ${this.spec.items[o].name} using the ${recs[r].name}.`
    }
    if (a.startsWith("use ")) {
      const o = this.spec.itemIndex.get(a.slice(4))
      if (o === undefined || o !== this.spec.lamp || this.at < 0 || this.itemAt[o] !== this.at) return nothing
      this.lampOn = !this.lampOn
      return `You turn ${this.lampOn ? "on" : "off"} the ${this.spec.items[o].name}.`
    }
    if (a.startsWith("examine ")) {
      const name = a.slice(8)
      const r = this.spec.receptacleIndex.get(name)
      if (r !== undefined) return r === this.at ? this.describe(r) : nothing
      const o = this.spec.itemIndex.get(name)
      if (o === undefined) return nothing
      const inReach = this.held === o || (this.at >= 0 && this.itemAt[o] === this.at && this.accessible(this.at))
      return inReach ? this.examineItem(o) : nothing
    }
    return nothing
  }

  /** Whether `verb` (clean, heat, cool) applies to item `o` with receptacle `r`. */
  private transforms(verb: string, o: number, r: number): boolean {
    const type = Catalog.objectType.get(this.spec.items[o].type)
    const rt = this.spec.layout.receptacles[r].type
    if (type === undefined) return false
    if (verb === "clean") return type.clean && Catalog.cleaners.includes(rt)
    if (verb === "heat") return type.heat && Catalog.heaters.includes(rt)
    return type.cool && Catalog.coolers.includes(rt)
  }

  /** Whether the task's goal holds now. */
  goalReached(): boolean {
    const s = this.spec
    if (s.type === "look_at_obj_in_light") {
      return this.lampOn && this.held >= 0 && s.items[this.held].type === s.object && this.at >= 0 && this.itemAt[s.lamp] === this.at
    }
    const need = s.type === "pick_two_obj_and_place" ? 2 : 1
    const recs = s.layout.receptacles
    for (let r = 0; r < recs.length; r++) {
      if (recs[r].type !== s.target) continue
      let n = 0
      for (const o of this.contents[r]) {
        if (s.items[o].type !== s.object) continue
        const ok = s.type === "pick_clean_then_place" ? this.clean[o] === 1
          : s.type === "pick_heat_then_place" ? this.hot[o] === 1
          : s.type === "pick_cool_then_place" ? this.cool[o] === 1
          : true
        if (ok) n++
      }
      if (n >= need) return true
    }
    return false
  }

  /** One step: every action counts, valid or not; reward 1 and done when the goal holds, done at the limit. */
  step(action: string): StepResult {
    if (this.done) return { observation: nothing, reward: this.reward, done: true }
    const observation = this.act(action)
    this.steps++
    if (this.goalReached()) {
      this.done = true
      this.reward = 1
    } else if (this.steps >= this.maxSteps) {
      this.done = true
    }
    return { observation, reward: this.reward, done: this.done }
  }

  /** ALFWorld's admissible commands: every action that does something here, now. */
  validActions(): Array<string> {
    const s = this.spec
    const recs = s.layout.receptacles
    const out: Array<string> = []
    for (let r = 0; r < recs.length; r++) if (r !== this.at) out.push(`go to ${recs[r].name}`)
    if (this.at >= 0) {
      const here = recs[this.at]
      if (here.openable) out.push(this.open[this.at] === 1 ? `close ${here.name}` : `open ${here.name}`)
      if (this.held < 0) {
        for (const o of this.visible(this.at)) if (o !== s.lamp) out.push(`take ${s.items[o].name} from ${here.name}`)
      } else {
        const held = s.items[this.held].name
        if (this.accessible(this.at)) out.push(`put ${held} in/on ${here.name}`)
        for (const verb of ["clean", "heat", "cool"]) {
          if (this.transforms(verb, this.held, this.at)) out.push(`${verb} ${held} with ${here.name}`)
        }
      }
      if (s.lamp >= 0 && this.itemAt[s.lamp] === this.at) out.push(`use ${s.items[s.lamp].name}`)
      out.push(`examine ${here.name}`)
    }
    if (this.held >= 0) out.push(`examine ${s.items[this.held].name}`)
    out.push("inventory", "look")
    return out
  }
}
