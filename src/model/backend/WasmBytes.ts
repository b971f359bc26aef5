import { type Memory, webAssembly } from "./WasmInternals.ts"

/**
 * A WebAssembly module written as bytes (the core spec's binary format, section 5; SIMD opcodes from the fixed-width
 * SIMD proposal, standard since 2021): just enough to build the small SIMD kernels of this directory at run time
 * (SimdTranspose.ts, SimdColumnSum.ts) without an assembler. Each kernel module imports one memory, `env.memory`
 * (the wasm backend's heap), and exports one function of i32 parameters.
 */

export type Code = ReadonlyArray<number>

export const unsigned = (n: number): Array<number> => {
  const out: Array<number> = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

export const signed = (n: number): Array<number> => {
  const out: Array<number> = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b]
    out.push(b | 0x80)
  }
}

const name = (s: string): Array<number> => [...unsigned(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))]
const vector = (items: ReadonlyArray<Code>): Array<number> => [...unsigned(items.length), ...items.flat()]
const section = (id: number, body: Code): Array<number> => [id, ...unsigned(body.length), ...body]

export const i32 = 0x7f
export const f32 = 0x7d
export const v128 = 0x7b

export const get = (local: number): Code => [0x20, ...unsigned(local)]
export const set = (local: number): Code => [0x21, ...unsigned(local)]
export const tee = (local: number): Code => [0x22, ...unsigned(local)]
export const constant = (n: number): Code => [0x41, ...signed(n)]
export const add: Code = [0x6a]
export const mul: Code = [0x6c]
export const and: Code = [0x71]
export const shl: Code = [0x74]
export const lessU: Code = [0x49]
export const select: Code = [0x1b]
/** v128.load / v128.store with a 4-byte alignment hint (floats are 4-aligned, rows need not be 16-aligned). */
export const load = (offset = 0): Code => [0xfd, 0x00, 2, ...unsigned(offset)]
export const store = (offset = 0): Code => [0xfd, 0x0b, 2, ...unsigned(offset)]
/** A v128 of zeros. */
export const zero: Code = [0xfd, 0x0c, ...new Array<number>(16).fill(0)]
/** i8x16.shuffle of two vectors' 32-bit lanes (0-3 the first vector's, 4-7 the second's). */
export const shuffle = (lanes: ReadonlyArray<number>): Code => [0xfd, 0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])]
/** f32x4.splat of the f32 on the stack; f32x4 lane-wise arithmetic (IEEE single precision, as f32 scalars). */
export const f32x4Splat: Code = [0xfd, 0x13]
export const f32x4Sqrt: Code = [0xfd, ...unsigned(0xe3)]
export const f32x4Add: Code = [0xfd, ...unsigned(0xe4)]
export const f32x4Sub: Code = [0xfd, ...unsigned(0xe5)]
export const f32x4Mul: Code = [0xfd, ...unsigned(0xe6)]
export const f32x4Div: Code = [0xfd, ...unsigned(0xe7)]
/** f32.const (little-endian IEEE single) and f32.convert_i32_u. */
export const f32Constant = (x: number): Code => [0x43, ...new Uint8Array(new Float32Array([x]).buffer)]
export const f32FromU32: Code = [0xb3]
export const f64x2PromoteLow: Code = [0xfd, 0x5f]
export const f32x4DemoteZero: Code = [0xfd, 0x5e]
export const f64x2Add: Code = [0xfd, ...unsigned(0xf0)]
/** `while (cond) body`: block { loop { br_if 1 (!cond); body; br 0 } }. */
export const loopWhile = (cond: Code, body: Code): Code => [0x02, 0x40, 0x03, 0x40, ...cond, 0x45, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b]

/** A function of parameters of the given types (i32, f32) and no result, with `locals` i32 and `vectors` v128 locals after them. */
export interface Func {
  readonly name: string
  readonly params: ReadonlyArray<number>
  readonly locals: number
  readonly vectors: number
  readonly body: Code
}

/** The module's bytes: one function, importing `env.memory` (shared memories must be declared shared, with a maximum). */
export const module = (f: Func, shared: boolean): Uint8Array => {
  const code = [...vector([[...unsigned(f.locals), i32], [...unsigned(f.vectors), v128]]), ...f.body, 0x0b]
  // limits: 0x00 min (no maximum) | 0x03 min max shared (4 GiB: every shared memory's maximum fits under it)
  const limits = shared ? [0x03, ...unsigned(0), ...unsigned(65536)] : [0x00, ...unsigned(0)]
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([[0x60, ...vector(f.params.map((t) => [t])), ...vector([])]])),
    ...section(2, vector([[...name("env"), ...name("memory"), 0x02, ...limits]])),
    ...section(3, vector([[0]])),
    ...section(7, vector([[...name(f.name), 0x00, 0]])),
    ...section(10, vector([[...unsigned(code.length), ...code]]))
  ])
}

/**
 * Per memory, one instance of each module `build` writes (for a shared memory, modules that declare it shared), their
 * exports handed to `wrap`; undefined where the runtime refuses a module (no WebAssembly SIMD). Instantiated on first use.
 */
export const perMemory = <F>(
  build: (shared: boolean) => ReadonlyArray<Uint8Array>,
  wrap: (exports: ReadonlyArray<Record<string, unknown>>, memory: Memory) => F
): ((memory: Memory) => F | undefined) => {
  const cache = new WeakMap<Memory, F | null>()
  return (memory) => {
    const hit = cache.get(memory)
    if (hit !== undefined) return hit ?? undefined
    const modules = build(typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer)
    const made = modules.every((m) => webAssembly.validate(m))
      ? wrap(modules.map((m) => new webAssembly.Instance(new webAssembly.Module(m), { env: { memory } }).exports), memory)
      : null
    cache.set(memory, made)
    return made ?? undefined
  }
}
