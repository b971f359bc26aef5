import {
  add,
  type Code,
  constant,
  f32x4DemoteZero,
  f64x2Add,
  f64x2PromoteLow,
  get,
  i32,
  lessU,
  load,
  loopWhile,
  module,
  perMemory,
  set,
  shl,
  shuffle,
  store,
  zero
} from "./WasmBytes.ts"

/**
 * Column sums of a float32 matrix in WebAssembly SIMD over another module's memory (the wasm backend's heap): the sum
 * over rows that every bias and LayerNorm-gain gradient takes (`(B·T, C) -> (C)`, LeadingSum.ts). Each column is
 * summed down the rows in float64 and rounded to float32 once, as the JS loop it speeds up does, so the results are the
 * same to the bit: SIMD runs across columns (two float64 lanes each, 16 columns a tile held in eight vectors), never
 * across rows. Columns past the last multiple of 16 are summed in JS. Runtimes without SIMD get `undefined`.
 */

/** Sums `rows`×`width` floats at byte offset `src` down each column into `width` floats at byte offset `dst`. */
export type ColumnSum = (src: number, dst: number, rows: number, width: number) => void

/** Columns a tile sums at once: 8 float64x2 accumulators (16 of a v128's registers with the 4 loaded rows). */
export const tileColumns = 16

// params: 0 src, 1 dst, 2 rows, 3 width, 4 tiles; i32 locals: 5 t, 6 p, 7 r, 8 row bytes;
// v128 locals: 9-16 the tile's accumulators (two columns each), 17-20 one row's 16 floats
const acc = (i: number) => 9 + i
const row = (i: number) => 17 + i
const high = shuffle([2, 3, 2, 3]) // lanes 2, 3 moved down for the promotion
const body: Code = [
  ...get(3), ...constant(2), ...shl, ...set(8),
  ...constant(0), ...set(5),
  ...loopWhile([...get(5), ...get(4), ...lessU], [
    ...Array.from({ length: 8 }, (_, i) => [...zero, ...set(acc(i))]).flat(),
    ...get(0), ...get(5), ...constant(6), ...shl, ...add, ...set(6),
    ...constant(0), ...set(7),
    ...loopWhile([...get(7), ...get(2), ...lessU], [
      ...Array.from({ length: 4 }, (_, i) => [...get(6), ...load(16 * i), ...set(row(i))]).flat(),
      ...Array.from({ length: 4 }, (_, i) => [
        ...get(acc(2 * i)), ...get(row(i)), ...f64x2PromoteLow, ...f64x2Add, ...set(acc(2 * i)),
        ...get(acc(2 * i + 1)), ...get(row(i)), ...get(row(i)), ...high, ...f64x2PromoteLow, ...f64x2Add, ...set(acc(2 * i + 1))
      ]).flat(),
      ...get(6), ...get(8), ...add, ...set(6),
      ...get(7), ...constant(1), ...add, ...set(7)
    ]),
    ...Array.from({ length: 4 }, (_, i) => [
      ...get(1), ...get(5), ...constant(6), ...shl, ...add,
      ...get(acc(2 * i)), ...f32x4DemoteZero, ...get(acc(2 * i + 1)), ...f32x4DemoteZero, ...shuffle([0, 1, 4, 5]),
      ...store(16 * i)
    ]).flat(),
    ...get(5), ...constant(1), ...add, ...set(5)
  ])
]

/** The module's bytes, importing `env.memory` (shared memories must be declared shared, with a maximum). */
export const bytes = (shared: boolean): Uint8Array => module({ name: "columnSum", params: new Array<number>(5).fill(i32), locals: 4, vectors: 12, body }, shared)

/** A SIMD column sum over `memory`, or undefined when this runtime has no WebAssembly SIMD. */
export const forMemory = perMemory((shared) => [bytes(shared)], ([exports], memory): ColumnSum => {
  const core = exports!["columnSum"] as (src: number, dst: number, rows: number, width: number, tiles: number) => void
  return (src, dst, rows, width) => {
    const tiles = Math.floor(width / tileColumns)
    core(src, dst, rows, width, tiles)
    const from = tiles * tileColumns
    if (from === width) return
    const xs = new Float32Array(memory.buffer, src, rows * width)
    const sums = new Float32Array(memory.buffer, dst, width)
    const rest = new Float64Array(width - from)
    for (let i = 0, o = 0; i < rows; i++, o += width) {
      for (let j = from; j < width; j++) rest[j - from] += xs[o + j]!
    }
    sums.set(rest, from)
  }
})
