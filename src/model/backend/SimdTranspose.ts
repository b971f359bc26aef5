import { add, and, type Code, constant, get, i32, lessU, load, loopWhile, module, mul, perMemory, select, set, shl, shuffle, store, tee } from "./WasmBytes.ts"

/**
 * A float32 matrix transpose in WebAssembly SIMD over another module's memory (the wasm backend's heap): the
 * transposes the matmul kernels materialise (MatmulKernels.ts: every weight gradient's X^T, attention's k^T, P^T and
 * dS^T). 4×4 blocks, each four 16-byte loads, eight shuffles and four stores, walked in column tiles of 64 so the
 * stores stay within a few cache lines; the rows and columns past the last multiple of 4 are copied in JS.
 * Measured against the tiled JS copy it replaces (one thread, this machine): 1292×128 0.29 -> 0.025 ms,
 * 1292×512 1.15 -> 0.27 ms, 648×1024 1.42 -> 0.26 ms; the JS copy was ~8% of an SFT step's main-thread time.
 *
 * The module is written as bytes (WasmBytes.ts: a dozen opcodes, no assembler at run time) and instantiated once per
 * memory. Runtimes without SIMD (WebAssembly.validate fails) get `undefined` and keep the JS copy.
 */

/** Transposes `rows`×`cols` floats at byte offset `src` into `cols`×`rows` floats at byte offset `dst` (no overlap). */
export type Transpose = (src: number, dst: number, rows: number, cols: number) => void

/** Columns a tile walks before moving to the next rows (16 and 64 measured the same, 256 slower on 512+ columns). */
const tileColumns = 64

// params: 0 src, 1 dst, 2 rows, 3 cols; i32 locals: 4 j0, 5 jEnd, 6 i, 7 j, 8 s, 9 d, 10 row bytes, 11 column bytes,
// 12 rows rounded down to 4, 13 cols rounded down to 4; v128 locals: 14-17 the block's rows, 18-21 half-transposed
const body: Code = [
  ...get(3), ...constant(2), ...shl, ...set(10),
  ...get(2), ...constant(2), ...shl, ...set(11),
  ...get(2), ...constant(-4), ...and, ...set(12),
  ...get(3), ...constant(-4), ...and, ...set(13),
  ...constant(0), ...set(4),
  ...loopWhile([...get(4), ...get(13), ...lessU], [
    // jEnd = min(j0 + tile, cols4)
    ...get(4), ...constant(tileColumns), ...add, ...get(13),
    ...get(4), ...constant(tileColumns), ...add, ...get(13), ...lessU, ...select, ...set(5),
    ...constant(0), ...set(6),
    ...loopWhile([...get(6), ...get(12), ...lessU], [
      ...get(4), ...set(7),
      ...loopWhile([...get(7), ...get(5), ...lessU], [
        // s = src + 4 (i cols + j): rows i..i+3, columns j..j+3
        ...get(0), ...get(6), ...get(3), ...mul, ...get(7), ...add, ...constant(2), ...shl, ...add, ...set(8),
        ...get(8), ...load(), ...set(14),
        ...get(8), ...get(10), ...add, ...tee(8), ...load(), ...set(15),
        ...get(8), ...get(10), ...add, ...tee(8), ...load(), ...set(16),
        ...get(8), ...get(10), ...add, ...load(), ...set(17),
        // [a0 b0 a1 b1], [a2 b2 a3 b3], [c0 d0 c1 d1], [c2 d2 c3 d3]
        ...get(14), ...get(15), ...shuffle([0, 4, 1, 5]), ...set(18),
        ...get(14), ...get(15), ...shuffle([2, 6, 3, 7]), ...set(19),
        ...get(16), ...get(17), ...shuffle([0, 4, 1, 5]), ...set(20),
        ...get(16), ...get(17), ...shuffle([2, 6, 3, 7]), ...set(21),
        // d = dst + 4 (j rows + i): output rows j..j+3 get [a b c d] of columns 0..3
        ...get(1), ...get(7), ...get(2), ...mul, ...get(6), ...add, ...constant(2), ...shl, ...add, ...tee(9),
        ...get(18), ...get(20), ...shuffle([0, 1, 4, 5]), ...store(),
        ...get(9), ...get(11), ...add, ...tee(9), ...get(18), ...get(20), ...shuffle([2, 3, 6, 7]), ...store(),
        ...get(9), ...get(11), ...add, ...tee(9), ...get(19), ...get(21), ...shuffle([0, 1, 4, 5]), ...store(),
        ...get(9), ...get(11), ...add, ...get(19), ...get(21), ...shuffle([2, 3, 6, 7]), ...store(),
        ...get(7), ...constant(4), ...add, ...set(7)
      ]),
      ...get(6), ...constant(4), ...add, ...set(6)
    ]),
    ...get(4), ...constant(tileColumns), ...add, ...set(4)
  ])
]

/** The module's bytes, importing `env.memory` (shared memories must be declared shared, with a maximum). */
export const bytes = (shared: boolean): Uint8Array => module({ name: "transpose", params: new Array<number>(4).fill(i32), locals: 10, vectors: 8, body }, shared)

/** A SIMD transpose over `memory`, or undefined when this runtime has no WebAssembly SIMD. */
export const forMemory = perMemory((shared) => [bytes(shared)], ([exports], memory): Transpose => {
  const core = exports!["transpose"] as (src: number, dst: number, rows: number, cols: number) => void
  return (src, dst, rows, cols) => {
    if (rows === 0 || cols === 0) return
    core(src, dst, rows, cols)
    const rows4 = rows & ~3
    const cols4 = cols & ~3
    if (rows4 === rows && cols4 === cols) return
    // the edges: columns cols4.. of every row, then rows rows4.. of the first cols4 columns
    const from = new Float32Array(memory.buffer, src, rows * cols)
    const to = new Float32Array(memory.buffer, dst, rows * cols)
    for (let i = 0; i < rows; i++) for (let j = cols4; j < cols; j++) to[j * rows + i] = from[i * cols + j]!
    for (let i = rows4; i < rows; i++) for (let j = 0; j < cols4; j++) to[j * rows + i] = from[i * cols + j]!
  }
})
