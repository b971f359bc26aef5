/**
 * A house layout: one room of a type with its numbered receptacles (`cabinet 1` ... `cabinet 6`),
 * each at its own `loc N`, listed in a fixed order. A layout is named by its signature (the room and
 * the count of every receptacle type); everything else about it (loc numbers, listing order) follows
 * from the signature and the seed, so the same signature is the same room wherever it appears.
 * Layouts are split by a hash of the signature: test layouts never appear in training.
 */
import type { Split } from "../../domain/TaskId.ts"
import * as Catalog from "./Catalog.ts"
import * as Hash from "../../random/Hash.ts"
import * as Rng from "../../random/Rng.ts"

export interface Receptacle {
  readonly name: string
  readonly type: string
  readonly num: number
  readonly loc: number
  readonly openable: boolean
}

export interface Layout {
  readonly room: Catalog.Room
  readonly signature: string
  /** In the order the room is described ("Looking quickly around you, you see ..."). */
  readonly receptacles: ReadonlyArray<Receptacle>
}

// One layout in five is held out for testing: enough unseen rooms for a 500-task test split.
const testShare = 5

export const splitOf = (seed: number, signature: string): Split =>
  Hash.parts(seed, "layout", signature) % testShare === 0 ? "test" : "train"

const signatureOf = (room: Catalog.Room, counts: ReadonlyArray<number>): string =>
  `${room}:${Catalog.roomReceptacles[room].map(([type], i) => `${type}${counts[i]}`).join(",")}`

/** The room for a signature's counts: loc numbers and listing order drawn from the signature. */
const build = (seed: number, room: Catalog.Room, counts: ReadonlyArray<number>): Layout => {
  const signature = signatureOf(room, counts)
  const rng = Rng.make(Hash.parts(seed, "view", signature))
  const names: Array<{ type: string; num: number }> = []
  Catalog.roomReceptacles[room].forEach(([type], i) => {
    for (let n = 1; n <= counts[i]; n++) names.push({ type, num: n })
  })
  // Loc numbers are distinct and sparse (1..2n), like ALFWorld's, so they carry no order.
  const locs = rng.shuffle(Array.from({ length: 2 * names.length }, (_, i) => i + 1))
  const placed = names.map((r, i): Receptacle => ({
    name: `${r.type} ${r.num}`,
    type: r.type,
    num: r.num,
    loc: locs[i],
    openable: Catalog.openable.has(r.type)
  }))
  return { room, signature, receptacles: rng.shuffle(placed) }
}

// Enough draws that a split is always hit (each draw lands in the wanted split with p >= 0.2).
const maxDraws = 10_000

/**
 * Draws receptacle counts for a room until the layout belongs to `split`; every type in `force`
 * is present at least once.
 */
export const sample = (
  rng: Rng.Rng,
  seed: number,
  room: Catalog.Room,
  split: Split,
  force: ReadonlyArray<string>
): Layout => {
  const ranges = Catalog.roomReceptacles[room]
  for (let draw = 0; draw < maxDraws; draw++) {
    const counts = ranges.map(([type, min, max]) => {
      const n = rng.between(min, max)
      return n === 0 && force.includes(type) ? 1 : n
    })
    if (splitOf(seed, signatureOf(room, counts)) === split) return build(seed, room, counts)
  }
  throw new Error(`house: no ${split} layout for a ${room} with ${force.join(", ")}`)
}
