import { describe, expect, it } from "vitest"
import * as Task from "../../../src/env/house/Task.ts"
import * as HouseWorld from "../../../src/env/house/World.ts"

const { World } = HouseWorld
type World = HouseWorld.World

/** A small kitchen written by hand, so that observations can be checked word for word. */
const kitchen = (type: Task.TaskType, object: string, target: string, goal: string): Task.Spec => {
  const rec = (name: string, loc: number, openable = false) => {
    const [t, n] = name.split(" ")
    return { name, type: t, num: Number(n), loc, openable }
  }
  const receptacles = [
    rec("cabinet 1", 9, true), rec("drawer 2", 2, true), rec("drawer 1", 3, true), rec("countertop 1", 5),
    rec("fridge 1", 7, true), rec("microwave 1", 11, true), rec("sinkbasin 1", 4), rec("coffeemachine 1", 1),
    rec("sidetable 1", 6)
  ]
  const at = (name: string) => receptacles.findIndex((r) => r.name === name)
  const items = [
    { name: "apple 1", type: "apple", at: at("countertop 1") },
    { name: "mug 2", type: "mug", at: at("countertop 1") },
    { name: "mug 1", type: "mug", at: at("cabinet 1") },
    { name: "egg 1", type: "egg", at: at("fridge 1") },
    { name: "desklamp 1", type: "desklamp", at: at("sidetable 1") },
    { name: "fork 1", type: "fork", at: at("drawer 2") }
  ]
  return Task.spec({ taskId: "train:0", type, object, target, goal, layout: { room: "kitchen", signature: "hand", receptacles }, items })
}

const play = (world: World, actions: ReadonlyArray<string>) => actions.map((a) => world.step(a))

describe("house wording (ALFWorld / TextWorld)", () => {
  const world = () => new World(kitchen("pick_clean_then_place", "mug", "coffeemachine", "put a clean mug in coffeemachine"), 50)

  it("lists like TextWorld", () => {
    expect(HouseWorld.list([])).toBe("nothing")
    expect(HouseWorld.list(["mug 1"])).toBe("a mug 1")
    expect(HouseWorld.list(["apple 1", "mug 2"])).toBe("a apple 1, and a mug 2")
    expect(HouseWorld.list(["a 1", "b 1", "c 1"])).toBe("a a 1, a b 1, and a c 1")
  })

  it("welcomes, describes the room and states the task", () => {
    expect(world().intro()).toBe(
      "-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly around you, you see a cabinet 1, a drawer 2, a drawer 1, a countertop 1, a fridge 1, a microwave 1, a sinkbasin 1, a coffeemachine 1, and a sidetable 1.\n\nYour task is to: put a clean mug in coffeemachine."
    )
  })

  it("answers every action in ALFWorld's words", () => {
    const w = world()
    const obs = (a: string) => w.step(a).observation
    expect(obs("inventory")).toBe("You are not carrying anything.")
    expect(obs("go to countertop 1")).toBe("You arrive at loc 5. On the countertop 1, you see a apple 1, and a mug 2.")
    expect(obs("look")).toBe("You are facing the countertop 1. Next to it, you see nothing.")
    expect(obs("go to drawer 1")).toBe("You arrive at loc 3. The drawer 1 is closed.")
    expect(obs("take fork 1 from drawer 1")).toBe("Nothing happens.")
    expect(obs("open drawer 1")).toBe("You open the drawer 1. The drawer 1 is open. In it, you see nothing.")
    expect(obs("open drawer 1")).toBe("Nothing happens.")
    expect(obs("examine drawer 1")).toBe("The drawer 1 is open. In it, you see nothing.")
    expect(obs("close drawer 1")).toBe("You close the drawer 1.")
    expect(obs("go to cabinet 1")).toBe("You arrive at loc 9. The cabinet 1 is closed.")
    expect(obs("open cabinet 1")).toBe("You open the cabinet 1. The cabinet 1 is open. In it, you see a mug 1.")
    expect(obs("take mug 1 from cabinet 1")).toBe("You pick up the mug 1 from the cabinet 1.")
    expect(obs("inventory")).toBe("You are carrying: a mug 1.")
    expect(obs("examine mug 1")).toBe("This is a normal mug 1. In it, you see nothing.")
    expect(obs("clean mug 1 with sinkbasin 1")).toBe("Nothing happens.") // not at the sink
    expect(obs("go to sinkbasin 1")).toBe("You arrive at loc 4. On the sinkbasin 1, you see nothing.")
    expect(obs("go to sinkbasin 1")).toBe("Nothing happens.") // already there
    expect(obs("clean mug 1 with sinkbasin 1")).toBe("You clean the mug 1 using the sinkbasin 1.")
    expect(obs("go to coffeemachine 1")).toBe("You arrive at loc 1. On the coffeemachine 1, you see nothing.")
    expect(obs("put mug 1 in coffeemachine 1")).toBe("Nothing happens.") // ALFWorld's verb is "in/on"
    const last = w.step("put mug 1 in/on coffeemachine 1")
    expect(last).toEqual({ observation: "You put the mug 1 in/on the coffeemachine 1.", reward: 1, done: true })
  })

  it("heats, cools, examines and lights in ALFWorld's words", () => {
    const w = new World(kitchen("look_at_obj_in_light", "egg", "desklamp", "look at egg under the desklamp"), 50)
    const obs = (a: string) => w.step(a).observation
    obs("go to fridge 1")
    obs("open fridge 1")
    expect(obs("take egg 1 from fridge 1")).toBe("You pick up the egg 1 from the fridge 1.")
    expect(obs("examine egg 1")).toBe("There's nothing special about egg 1.")
    expect(obs("cool egg 1 with fridge 1")).toBe("You cool the egg 1 using the fridge 1.")
    expect(obs("examine egg 1")).toBe("This is a cold egg 1.")
    expect(obs("go to microwave 1")).toBe("You arrive at loc 11. The microwave 1 is closed.")
    expect(obs("heat egg 1 with microwave 1")).toBe("You heat the egg 1 using the microwave 1.")
    expect(obs("examine egg 1")).toBe("This is a hot egg 1.")
    expect(obs("use desklamp 1")).toBe("Nothing happens.") // the lamp is elsewhere
    expect(obs("go to sidetable 1")).toBe("You arrive at loc 6. On the sidetable 1, you see a desklamp 1.")
    expect(obs("take desklamp 1 from sidetable 1")).toBe("Nothing happens.")
    expect(obs("examine desklamp 1")).toBe("This desklamp 1 is off.")
    expect(w.step("use desklamp 1")).toEqual({ observation: "You turn on the desklamp 1.", reward: 1, done: true })
  })

  it("answers malformed and unknown actions with Nothing happens.", () => {
    const w = world()
    for (const a of ["", "   ", "go to", "go to cabinet 99", "take", "take mug 2 from", "put in/on", "jump", "open fridge 1", "clean with", "use", "examine", "examine mug 2"]) {
      expect(w.step(a).observation).toBe("Nothing happens.")
    }
    expect(w.steps).toBe(13)
  })

  it("is lenient about case and spaces only", () => {
    const w = world()
    expect(w.step("  Go   to COUNTERTOP 1 ").observation).toBe("You arrive at loc 5. On the countertop 1, you see a apple 1, and a mug 2.")
  })
})

describe("house goals", () => {
  it("pick_and_place: any mug in any coffeemachine", () => {
    const w = new World(kitchen("pick_and_place", "mug", "coffeemachine", "put a mug in coffeemachine"), 50)
    const r = play(w, ["go to countertop 1", "take mug 2 from countertop 1", "go to coffeemachine 1", "put mug 2 in/on coffeemachine 1"])
    expect(r.map((x) => x.reward)).toEqual([0, 0, 0, 1])
  })

  it("pick_clean_then_place: a dirty mug in the coffeemachine is not enough", () => {
    const w = new World(kitchen("pick_clean_then_place", "mug", "coffeemachine", "put a clean mug in coffeemachine"), 50)
    const r = play(w, ["go to countertop 1", "take mug 2 from countertop 1", "go to coffeemachine 1", "put mug 2 in/on coffeemachine 1"])
    expect(r.at(-1)).toMatchObject({ reward: 0, done: false })
    const r2 = play(w, ["take mug 2 from coffeemachine 1", "go to sinkbasin 1", "clean mug 2 with sinkbasin 1", "go to coffeemachine 1", "put mug 2 in/on coffeemachine 1"])
    expect(r2.at(-1)).toMatchObject({ reward: 1, done: true })
  })

  it("pick_heat_then_place and pick_cool_then_place: cooling undoes heating", () => {
    const heat = new World(kitchen("pick_heat_then_place", "apple", "countertop", "put a hot apple in countertop"), 50)
    const cool = new World(kitchen("pick_cool_then_place", "apple", "countertop", "put a cool apple in countertop"), 50)
    const steps = ["go to countertop 1", "take apple 1 from countertop 1", "go to microwave 1", "heat apple 1 with microwave 1", "go to fridge 1", "cool apple 1 with fridge 1", "go to countertop 1", "put apple 1 in/on countertop 1"]
    expect(play(heat, steps).at(-1)).toMatchObject({ reward: 0, done: false })
    expect(play(cool, steps).at(-1)).toMatchObject({ reward: 1, done: true })
  })

  it("pick_two_obj_and_place: two mugs in the same receptacle", () => {
    const w = new World(kitchen("pick_two_obj_and_place", "mug", "coffeemachine", "put two mug in coffeemachine"), 50)
    const one = play(w, ["go to countertop 1", "take mug 2 from countertop 1", "go to coffeemachine 1", "put mug 2 in/on coffeemachine 1"])
    expect(one.at(-1)).toMatchObject({ reward: 0, done: false })
    const two = play(w, ["go to cabinet 1", "open cabinet 1", "take mug 1 from cabinet 1", "go to coffeemachine 1", "put mug 1 in/on coffeemachine 1"])
    expect(two.at(-1)).toMatchObject({ reward: 1, done: true })
  })

  it("look_at_obj_in_light: holding the object by the lit lamp", () => {
    const w = new World(kitchen("look_at_obj_in_light", "apple", "desklamp", "look at apple under the desklamp"), 50)
    expect(play(w, ["go to sidetable 1", "use desklamp 1"]).at(-1)).toMatchObject({ reward: 0, done: false })
    expect(play(w, ["go to countertop 1", "take apple 1 from countertop 1", "go to sidetable 1"]).at(-1)).toMatchObject({ reward: 1, done: true })
  })

  it("ends at the step limit with reward 0, and stays ended", () => {
    const w = new World(kitchen("pick_and_place", "mug", "coffeemachine", "put a mug in coffeemachine"), 3)
    expect(play(w, ["look", "jump", "look"]).map((r) => r.done)).toEqual([false, false, true])
    expect(w.step("go to countertop 1")).toEqual({ observation: "Nothing happens.", reward: 0, done: true })
  })
})
