/**
 * The house's fixed vocabulary: room types, receptacle types with their count ranges per room,
 * object types with the receptacles they start in (type-dependent priors), their affordances
 * (ALFWorld's cleanable / heatable / coolable sets) and the receptacles they may be asked to go to.
 * Names follow ALFWorld's lowercase, space-free spelling (`sinkbasin`, `coffeemachine`, `desklamp`).
 */

export type Room = "kitchen" | "livingroom" | "bedroom" | "bathroom"

export const rooms: ReadonlyArray<Room> = ["kitchen", "livingroom", "bedroom", "bathroom"]

/** Receptacle types in a fixed order (ties in search order are broken by it). */
export const receptacleTypes: ReadonlyArray<string> = [
  "fridge", "countertop", "diningtable", "cabinet", "drawer", "shelf", "sinkbasin", "bathtubbasin", "microwave",
  "stoveburner", "coffeemachine", "toaster", "garbagecan", "desk", "sidetable", "dresser", "coffeetable", "sofa",
  "armchair", "bed", "ottoman", "tvstand", "safe", "laundryhamper", "toilet", "towelholder", "handtowelholder",
  "toiletpaperhanger"
]

/** ALFWorld's openable receptacles (they start closed). */
export const openable: ReadonlySet<string> = new Set(["cabinet", "drawer", "fridge", "microwave", "safe"])

/** `[type, min, max]`: how many of each receptacle a room of that type holds. */
export type Range = readonly [type: string, min: number, max: number]

export const roomReceptacles: Readonly<Record<Room, ReadonlyArray<Range>>> = {
  kitchen: [
    ["cabinet", 3, 10], ["drawer", 1, 6], ["countertop", 1, 3], ["fridge", 1, 1], ["microwave", 1, 1],
    ["sinkbasin", 1, 1], ["stoveburner", 2, 4], ["coffeemachine", 1, 1], ["toaster", 1, 1], ["garbagecan", 1, 1],
    ["diningtable", 0, 1], ["shelf", 0, 3]
  ],
  livingroom: [
    ["sofa", 1, 1], ["armchair", 0, 2], ["coffeetable", 1, 2], ["sidetable", 1, 2], ["tvstand", 0, 1], ["drawer", 0, 4],
    ["cabinet", 0, 4], ["shelf", 0, 4], ["garbagecan", 1, 1], ["dresser", 0, 1], ["diningtable", 0, 1], ["ottoman", 0, 1]
  ],
  bedroom: [
    ["bed", 1, 1], ["desk", 0, 2], ["sidetable", 1, 2], ["dresser", 0, 1], ["drawer", 1, 6], ["shelf", 0, 5],
    ["garbagecan", 1, 1], ["laundryhamper", 0, 1], ["safe", 0, 1], ["armchair", 0, 1]
  ],
  bathroom: [
    ["toilet", 1, 1], ["sinkbasin", 1, 2], ["bathtubbasin", 0, 1], ["countertop", 1, 1], ["cabinet", 1, 4], ["drawer", 0, 4],
    ["garbagecan", 1, 1], ["towelholder", 0, 1], ["handtowelholder", 0, 2], ["toiletpaperhanger", 1, 1], ["shelf", 0, 2]
  ]
}

/** Receptacles that clean, heat and cool (ALFWorld's sink or bathtub, microwave, fridge). */
export const cleaners: ReadonlyArray<string> = ["sinkbasin", "bathtubbasin"]
export const heaters: ReadonlyArray<string> = ["microwave"]
export const coolers: ReadonlyArray<string> = ["fridge"]

/** The lamp of the light tasks: a fixed object on one of these receptacles, in living rooms and bedrooms. */
export const lamp = "desklamp"
export const lampRooms: ReadonlyArray<Room> = ["livingroom", "bedroom"]
export const lampHosts: ReadonlyArray<readonly [string, number]> = [["desk", 3], ["sidetable", 2], ["dresser", 1]]

export interface ObjectType {
  readonly name: string
  readonly rooms: ReadonlyArray<Room>
  /** `[receptacle type, weight]`: where instances start, more weight = more likely (and searched first). */
  readonly sources: ReadonlyArray<readonly [string, number]>
  readonly clean: boolean
  readonly heat: boolean
  readonly cool: boolean
  /** Can be looked at under the desklamp. */
  readonly look: boolean
  /** ALFWorld's receptacle objects (examine says "This is a normal mug 1. In it, you see nothing."). */
  readonly holder: boolean
  /** Receptacle types a task may ask to put it in/on. */
  readonly targets: ReadonlyArray<string>
}

type Flags = string // letters: c clean, h heat, k cool, l look, r holder

const K: ReadonlyArray<Room> = ["kitchen"]
const LB: ReadonlyArray<Room> = ["livingroom", "bedroom"]
const T: ReadonlyArray<Room> = ["bathroom"]

const def = (
  name: string,
  rooms: ReadonlyArray<Room>,
  sources: Readonly<Record<string, number>>,
  flags: Flags,
  targets: ReadonlyArray<string>
): ObjectType => ({
  name,
  rooms,
  sources: Object.entries(sources),
  clean: flags.includes("c"),
  heat: flags.includes("h"),
  cool: flags.includes("k"),
  look: flags.includes("l"),
  holder: flags.includes("r"),
  targets
})

const food = { fridge: 3, countertop: 2, diningtable: 2, sinkbasin: 1, garbagecan: 1, microwave: 1 }
const foodTargets = ["countertop", "diningtable", "fridge", "garbagecan", "microwave"]
const dishes = { cabinet: 3, countertop: 2, diningtable: 2, fridge: 1, sinkbasin: 1, shelf: 1, microwave: 1 }
const dishTargets = ["cabinet", "countertop", "diningtable", "shelf", "fridge", "microwave"]
const cutlery = { drawer: 4, countertop: 2, diningtable: 2, sinkbasin: 1 }
const cutleryTargets = ["drawer", "countertop", "diningtable"]
const cookware = { stoveburner: 4, cabinet: 2, countertop: 2, diningtable: 1, sinkbasin: 1 }
const cookwareTargets = ["stoveburner", "cabinet", "countertop", "diningtable", "fridge", "shelf"]
const shaker = { countertop: 3, cabinet: 2, diningtable: 2, drawer: 1, shelf: 1 }
const shakerTargets = ["cabinet", "drawer", "countertop", "diningtable", "shelf"]
const stationery = { desk: 3, sidetable: 2, drawer: 2, dresser: 1, shelf: 1, coffeetable: 1 }
const stationeryTargets = ["desk", "drawer", "dresser", "shelf", "sidetable", "garbagecan"]

export const objectTypes: ReadonlyArray<ObjectType> = [
  // kitchen
  def("apple", K, { fridge: 3, countertop: 3, diningtable: 2, garbagecan: 1, microwave: 1, sinkbasin: 1 }, "chk", foodTargets),
  def("bread", K, { countertop: 3, diningtable: 3, fridge: 1, cabinet: 1, microwave: 1 }, "hk", [...foodTargets, "cabinet"]),
  def("egg", K, food, "chk", foodTargets),
  def("lettuce", K, { fridge: 3, countertop: 2, diningtable: 2, sinkbasin: 1 }, "ck", ["countertop", "diningtable", "fridge", "garbagecan"]),
  def("potato", K, food, "chk", foodTargets),
  def("tomato", K, food, "chk", foodTargets),
  def("mug", ["kitchen", "bedroom"], { cabinet: 2, countertop: 2, coffeemachine: 2, diningtable: 1, sinkbasin: 1, shelf: 1, microwave: 1, fridge: 1, desk: 3, sidetable: 1 }, "chklr", ["coffeemachine", "cabinet", "countertop", "diningtable", "shelf", "microwave", "fridge", "desk"]),
  def("cup", K, { cabinet: 2, countertop: 2, diningtable: 1, fridge: 1, sinkbasin: 1, microwave: 1, shelf: 1 }, "chkr", dishTargets),
  def("plate", K, dishes, "chkr", dishTargets),
  def("bowl", K, dishes, "ckr", dishTargets),
  def("pan", K, cookware, "ckr", cookwareTargets),
  def("pot", K, cookware, "ckr", cookwareTargets),
  def("kettle", K, { stoveburner: 4, cabinet: 2, countertop: 2, diningtable: 1 }, "c", ["stoveburner", "cabinet", "countertop", "diningtable", "shelf"]),
  def("fork", K, cutlery, "c", cutleryTargets),
  def("spoon", K, cutlery, "c", cutleryTargets),
  def("knife", K, cutlery, "c", cutleryTargets),
  def("butterknife", K, cutlery, "c", cutleryTargets),
  def("spatula", K, cutlery, "c", cutleryTargets),
  def("ladle", K, cutlery, "c", cutleryTargets),
  def("dishsponge", ["kitchen", "bathroom"], { sinkbasin: 3, countertop: 2, cabinet: 1, drawer: 1, toilet: 1, bathtubbasin: 1 }, "c", ["cabinet", "countertop", "drawer", "diningtable", "garbagecan", "toilet"]),
  def("saltshaker", K, shaker, "", shakerTargets),
  def("peppershaker", K, shaker, "", shakerTargets),
  def("soapbottle", ["kitchen", "bathroom"], { countertop: 3, cabinet: 2, toilet: 1, shelf: 1, garbagecan: 1, diningtable: 1 }, "", ["cabinet", "countertop", "toilet", "garbagecan", "shelf", "diningtable"]),
  def("winebottle", K, { countertop: 2, fridge: 2, cabinet: 2, diningtable: 2, shelf: 1 }, "k", ["cabinet", "countertop", "diningtable", "fridge", "shelf", "garbagecan"]),
  def("creditcard", ["kitchen", "livingroom", "bedroom"], { countertop: 1, diningtable: 2, drawer: 2, sidetable: 2, desk: 2, dresser: 2, coffeetable: 2, sofa: 1, armchair: 1, shelf: 1 }, "l", ["drawer", "desk", "dresser", "sidetable", "coffeetable", "shelf", "armchair", "sofa", "diningtable", "countertop"]),
  // living room and bedroom
  def("book", LB, { bed: 3, desk: 2, sidetable: 2, shelf: 2, coffeetable: 2, sofa: 1, armchair: 1, dresser: 1, drawer: 1, diningtable: 1 }, "l", ["bed", "desk", "shelf", "sofa", "sidetable", "coffeetable", "drawer", "armchair", "dresser", "diningtable"]),
  def("cellphone", LB, { bed: 2, desk: 2, sidetable: 2, dresser: 2, drawer: 1, sofa: 1, coffeetable: 1, armchair: 1 }, "l", ["bed", "desk", "sofa", "drawer", "dresser", "sidetable", "armchair", "safe", "coffeetable"]),
  def("keychain", LB, { sidetable: 2, desk: 1, dresser: 2, drawer: 2, coffeetable: 1, shelf: 1, sofa: 1, armchair: 1, safe: 1 }, "l", ["drawer", "dresser", "safe", "sidetable", "desk", "shelf", "coffeetable", "sofa", "armchair"]),
  def("pen", LB, stationery, "l", stationeryTargets),
  def("pencil", LB, stationery, "l", stationeryTargets),
  def("cd", LB, { desk: 2, drawer: 2, shelf: 2, sidetable: 1, safe: 1, garbagecan: 1 }, "l", ["desk", "drawer", "shelf", "safe", "garbagecan", "sidetable", "dresser"]),
  def("alarmclock", ["bedroom"], { desk: 3, sidetable: 2, dresser: 2, shelf: 2 }, "l", ["desk", "dresser", "shelf", "sidetable"]),
  def("laptop", LB, { bed: 3, desk: 3, sofa: 2, coffeetable: 1, diningtable: 1, armchair: 1, ottoman: 1 }, "l", ["bed", "desk", "sofa", "armchair", "coffeetable", "diningtable", "ottoman"]),
  def("pillow", LB, { bed: 3, sofa: 3, armchair: 2, ottoman: 1 }, "l", ["sofa", "armchair", "bed", "ottoman"]),
  def("remotecontrol", ["livingroom"], { sofa: 2, coffeetable: 3, armchair: 2, sidetable: 2, tvstand: 2, dresser: 1, drawer: 1, ottoman: 1 }, "l", ["sofa", "armchair", "coffeetable", "sidetable", "tvstand", "dresser", "drawer", "ottoman", "garbagecan"]),
  def("newspaper", ["livingroom"], { sofa: 2, coffeetable: 2, armchair: 2, diningtable: 1, sidetable: 1, ottoman: 1, garbagecan: 1 }, "l", ["sofa", "armchair", "coffeetable", "diningtable", "sidetable", "ottoman", "garbagecan"]),
  def("statue", LB, { shelf: 3, coffeetable: 2, sidetable: 2, dresser: 2, tvstand: 1, diningtable: 1, desk: 1 }, "l", ["shelf", "coffeetable", "sidetable", "dresser", "tvstand", "diningtable", "desk", "cabinet"]),
  def("vase", ["livingroom"], { shelf: 3, coffeetable: 2, sidetable: 2, diningtable: 2, tvstand: 1, cabinet: 1 }, "l", ["shelf", "coffeetable", "sidetable", "diningtable", "tvstand", "cabinet", "dresser"]),
  def("watch", LB, { sidetable: 2, dresser: 2, drawer: 2, coffeetable: 1, desk: 1, safe: 1 }, "l", ["dresser", "drawer", "sidetable", "safe", "coffeetable", "desk"]),
  def("tissuebox", ["livingroom", "bedroom", "bathroom"], { sidetable: 2, dresser: 2, coffeetable: 2, toilet: 2, countertop: 1, shelf: 1 }, "", ["sidetable", "dresser", "coffeetable", "toilet", "countertop", "shelf", "garbagecan", "cabinet"]),
  // bathroom
  def("cloth", T, { countertop: 2, cabinet: 2, bathtubbasin: 1, toilet: 1, drawer: 1, sinkbasin: 1 }, "c", ["cabinet", "countertop", "bathtubbasin", "toilet", "garbagecan", "drawer"]),
  def("towel", T, { towelholder: 4, countertop: 1, bathtubbasin: 1 }, "", ["countertop", "cabinet", "bathtubbasin", "garbagecan"]),
  def("handtowel", T, { handtowelholder: 4, countertop: 1 }, "", ["countertop", "cabinet", "drawer"]),
  def("soapbar", T, { countertop: 2, bathtubbasin: 2, sinkbasin: 2, toilet: 1, cabinet: 1, shelf: 1 }, "c", ["cabinet", "countertop", "toilet", "garbagecan", "bathtubbasin", "drawer", "shelf"]),
  def("toiletpaper", T, { toiletpaperhanger: 3, toilet: 2, cabinet: 2, countertop: 1, shelf: 1, drawer: 1 }, "", ["cabinet", "toilet", "toiletpaperhanger", "countertop", "drawer", "shelf", "garbagecan"]),
  def("spraybottle", T, { cabinet: 3, countertop: 2, toilet: 2, garbagecan: 1, shelf: 1 }, "", ["toilet", "cabinet", "countertop", "garbagecan", "drawer", "shelf"]),
  def("candle", T, { countertop: 2, cabinet: 2, toilet: 2, shelf: 2, bathtubbasin: 1, drawer: 1 }, "", ["cabinet", "toilet", "countertop", "shelf", "drawer"])
]

export const objectType: ReadonlyMap<string, ObjectType> = new Map(objectTypes.map((o) => [o.name, o]))

/** The most receptacles of a type a room can hold (0: never there). */
export const maxCount = (room: Room, type: string): number => {
  for (const [t, , max] of roomReceptacles[room]) if (t === type) return max
  return 0
}
