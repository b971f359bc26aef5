import { type Memory, webAssembly } from "./WasmInternals.ts"

/**
 * A float32 matrix transpose in WebAssembly SIMD over another module's memory (the wasm backend's heap): the
 * transposes the matmul kernels materialise (MatmulKernels.ts: every weight gradient's X^T, attention's k^T, P^T and
 * dS^T). 4×4 blocks, each four 16-byte loads, eight shuffles and four stores, walked in column tiles of 64 so the
 * stores stay within a few cache lines; the rows and columns past the last multiple of 4 are copied in JS.
 * Measured against the tiled JS copy it replaces (one thread, this machine): 1292×128 0.29 -> 0.025 ms,
 * 1292×512 1.15 -> 0.27 ms, 648×1024 1.42 -> 0.26 ms; the JS copy was ~8% of an SFT step's main-thread time.
 *
 * The module is written here as bytes (a dozen opcodes; no assembler needed at run time) and instantiated once per
 * memory. Runtimes without SIMD (WebAssembly.validate fails) get `undefined` and keep the JS copy.
 */

/** Transposes `rows`×`cols` floats at byte offset `src` into `cols`×`rows` floats at byte offset `dst` (no overlap). */
export type Transpose = (src: number, dst: number, rows: number, cols: number) => void

/** Columns a tile walks before moving to the next rows (16 and 64 measured the same, 256 slower on 512+ columns). */
const tileColumns = 64

// --- the binary encoding (WebAssembly core spec, section 5) -----------------------------------------------------

const unsigned = (n: number): Array<number> => {
  const out: Array<number> = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

const signed = (n: number): Array<number> => {
  const out: Array<number> = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b]
    out.push(b | 0x80)
  }
}

const name = (s: string): Array<number> => [...unsigned(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))]
const vector = (items: ReadonlyArray<ReadonlyArray<number>>): Array<number> => [...unsigned(items.length), ...items.flat()]
const section = (id: number, body: ReadonlyArray<number>): Array<number> => [id, ...unsigned(body.length), ...body]

const i32 = 0x7f
const v128 = 0x7b
const get = (local: number) => [0x20, ...unsigned(local)]
const set = (local: number) => [0x21, ...unsigned(local)]
const tee = (local: number) => [0x22, ...unsigned(local)]
const constant = (n: number) => [0x41, ...signed(n)]
const add = [0x6a]
const mul = [0x6c]
const and = [0x71]
const shl = [0x74]
const lessU = [0x49]
const select = [0x1b]
/** v128.load / v128.store with a 4-byte alignment hint (floats are 4-aligned, rows are not 16-aligned). */
const load = [0xfd, 0x00, 2, 0]
const store = [0xfd, 0x0b, 2, 0]
/** i8x16.shuffle of two vectors' float lanes (0-3 the first vector's, 4-7 the second's). */
const shuffle = (lanes: ReadonlyArray<number>) => [0xfd, 0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])]
/** `while (cond) body`: block { loop { br_if 1 (!cond); body; br 0 } }. */
const loopWhile = (cond: ReadonlyArray<number>, body: ReadonlyArray<number>) =>
  [0x02, 0x40, 0x03, 0x40, ...cond, 0x45, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b]

// params: 0 src, 1 dst, 2 rows, 3 cols; i32 locals: 4 j0, 5 jEnd, 6 i, 7 j, 8 s, 9 d, 10 row bytes, 11 column bytes,
// 12 rows rounded down to 4, 13 cols rounded down to 4; v128 locals: 14-17 the block's rows, 18-21 half-transposed
const body = [
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
        ...get(8), ...load, ...set(14),
        ...get(8), ...get(10), ...add, ...tee(8), ...load, ...set(15),
        ...get(8), ...get(10), ...add, ...tee(8), ...load, ...set(16),
        ...get(8), ...get(10), ...add, ...load, ...set(17),
        // [a0 b0 a1 b1], [a2 b2 a3 b3], [c0 d0 c1 d1], [c2 d2 c3 d3]
        ...get(14), ...get(15), ...shuffle([0, 4, 1, 5]), ...set(18),
        ...get(14), ...get(15), ...shuffle([2, 6, 3, 7]), ...set(19),
        ...get(16), ...get(17), ...shuffle([0, 4, 1, 5]), ...set(20),
        ...get(16), ...get(17), ...shuffle([2, 6, 3, 7]), ...set(21),
        // d = dst + 4 (j rows + i): output rows j..j+3 get [a b c d] of columns 0..3
        ...get(1), ...get(7), ...get(2), ...mul, ...get(6), ...add, ...constant(2), ...shl, ...add, ...tee(9),
        ...get(18), ...get(20), ...shuffle([0, 1, 4, 5]), ...store,
        ...get(9), ...get(11), ...add, ...tee(9), ...get(18), ...get(20), ...shuffle([2, 3, 6, 7]), ...store,
        ...get(9), ...get(11), ...add, ...tee(9), ...get(19), ...get(21), ...shuffle([0, 1, 4, 5]), ...store,
        ...get(9), ...get(11), ...add, ...get(19), ...get(21), ...shuffle([2, 3, 6, 7]), ...store,
        ...get(7), ...constant(4), ...add, ...set(7)
      ]),
      ...get(6), ...constant(4), ...add, ...set(6)
    ]),
    ...get(4), ...constant(tileColumns), ...add, ...set(4)
  ])
]

/** The module's bytes, importing `env.memory` (shared memories must be declared shared, with a maximum). */
export const bytes = (shared: boolean): Uint8Array => {
  const code = [...vector([[...unsigned(10), i32], [...unsigned(8), v128]]), ...body, 0x0b]
  // limits: 0x00 min (no maximum) | 0x03 min max shared (4 GiB: any shared memory's maximum fits under it)
  const limits = shared ? [0x03, ...unsigned(0), ...unsigned(65536)] : [0x00, ...unsigned(0)]
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([[0x60, ...vector([[i32], [i32], [i32], [i32]]), ...vector([])]])),
    ...section(2, vector([[...name("env"), ...name("memory"), 0x02, ...limits]])),
    ...section(3, vector([[0]])),
    ...section(7, vector([[...name("transpose"), 0x00, 0]])),
    ...section(10, vector([[...unsigned(code.length), ...code]]))
  ])
}

const byMemory = new WeakMap<Memory, Transpose | null>()

/** A SIMD transpose over `memory`, or undefined when this runtime has no WebAssembly SIMD. */
export const forMemory = (memory: Memory): Transpose | undefined => {
  const cached = byMemory.get(memory)
  if (cached !== undefined) return cached ?? undefined
  const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer
  const code = bytes(shared)
  if (!webAssembly.validate(code)) {
    byMemory.set(memory, null)
    return undefined
  }
  const instance = new webAssembly.Instance(new webAssembly.Module(code), { env: { memory } })
  const core = instance.exports["transpose"] as (src: number, dst: number, rows: number, cols: number) => void
  const transpose: Transpose = (src, dst, rows, cols) => {
    if (rows === 0 || cols === 0) return
    core(src, dst, rows, cols)
    const rows4 = rows & ~3
    const cols4 = cols & ~3
    if (rows4 === rows && cols4 === cols) return
    // the edges: columns cols4.. of every row, then rows rows4.. of the first cols4 columns
    const heap = memory.buffer
    const from = new Float32Array(heap, src, rows * cols)
    const to = new Float32Array(heap, dst, rows * cols)
    for (let i = 0; i < rows; i++) for (let j = cols4; j < cols; j++) to[j * rows + i] = from[i * cols + j]!
    for (let i = rows4; i < rows; i++) for (let j = 0; j < cols4; j++) to[j * rows + i] = from[i * cols + j]!
  }
  byMemory.set(memory, transpose)
  return transpose
}
