import * as tf from "@tensorflow/tfjs"
import {
  add,
  type Code,
  constant,
  f32,
  f32Constant,
  f32FromU32,
  f32x4Add,
  f32x4Div,
  f32x4Mul,
  f32x4Splat,
  f32x4Sqrt,
  f32x4Sub,
  get,
  i32,
  lessU,
  load,
  loopWhile,
  module,
  mul,
  perMemory,
  set,
  shl,
  shuffle,
  store,
  zero
} from "./WasmBytes.ts"
import * as Wasm from "./WasmInternals.ts"

/**
 * LayerNorm's forward and its x-gradient as two kernels on the wasm backend, in WebAssembly SIMD over the heap, with the
 * arithmetic of the tfjs ops they replace (src/model/LayerNorm.ts) to the bit: the wasm backend's Mean sums a row in
 * float32 in order and divides by C, its Rsqrt is 1 / sqrt in float32, and every other step is one float32 operation
 * per element. The SIMD runs across four rows at a time (a 4×4 block transposed in registers, so that each lane adds
 * its own row's values in column order), never across a row's sum. Measured (one thread, 1292 × 128): forward 1.02 ->
 * 0.52 ms, dx 0.76 -> 0.48 ms against the ops; the quickstart's SFT step (2 passes, 9 LayerNorms each) medians
 * 933 / 925 / 919 -> 914 / 908 / 911 ms.
 *   `StepagentLayerNorm`:     x (N, C), gain (C), bias (C); eps -> y (N, C), xhat (N, C), rstd (N, 1)
 *   `StepagentLayerNormGrad`: dy (N, C), xhat (N, C), rstd (N, 1), gain (C) -> dx (N, C)
 *     xhat = (x - mean) rstd,  y = xhat gain + bias,  rstd = 1 / sqrt(mean((x - mean)²) + eps)
 *     dx = rstd ((dy gain - mean(dy gain)) - xhat mean(dy gain xhat))
 * Rows past the last multiple of 4 are computed in JS with the same float32 steps. Only C a multiple of 4, and only
 * where the runtime has WebAssembly SIMD and the heap's memory is reachable (`available`); elsewhere LayerNorm.ts
 * composes tfjs ops.
 */

export const names = { forward: "StepagentLayerNorm", grad: "StepagentLayerNormGrad" } as const

const fr = Math.fround

// ---------------------------------------------------------------------------------------------------------------
// The JS rows (and the reference the tests hold the kernels to).

/** Rows [from, to) of the forward, in float32 steps. */
export const forwardRows = (
  x: Float32Array, gain: Float32Array, bias: Float32Array, eps: number,
  y: Float32Array, xhat: Float32Array, rstd: Float32Array, C: number, from: number, to: number
): void => {
  const e = fr(eps)
  for (let r = from; r < to; r++) {
    const o = r * C
    let s = 0
    for (let j = 0; j < C; j++) s = fr(s + x[o + j]!)
    const mean = fr(s / C)
    let v = 0
    for (let j = 0; j < C; j++) {
      const d = fr(x[o + j]! - mean)
      v = fr(v + fr(d * d))
    }
    const rs = fr(1 / fr(Math.sqrt(fr(fr(v / C) + e))))
    rstd[r] = rs
    for (let j = 0; j < C; j++) {
      const h = fr(fr(x[o + j]! - mean) * rs)
      xhat[o + j] = h
      y[o + j] = fr(fr(h * gain[j]!) + bias[j]!)
    }
  }
}

/** Rows [from, to) of the x-gradient, in float32 steps. */
export const gradRows = (
  dy: Float32Array, xhat: Float32Array, rstd: Float32Array, gain: Float32Array, dx: Float32Array, C: number, from: number, to: number
): void => {
  for (let r = from; r < to; r++) {
    const o = r * C
    let s1 = 0
    let s2 = 0
    for (let j = 0; j < C; j++) {
      const d = fr(dy[o + j]! * gain[j]!)
      s1 = fr(s1 + d)
      s2 = fr(s2 + fr(d * xhat[o + j]!))
    }
    const m1 = fr(s1 / C)
    const m2 = fr(s2 / C)
    const rs = rstd[r]!
    for (let j = 0; j < C; j++) {
      const d = fr(dy[o + j]! * gain[j]!)
      dx[o + j] = fr(rs * fr(fr(d - m1) - fr(xhat[o + j]! * m2)))
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The SIMD functions: groups of 4 rows.

/** Local indices handed out in order after the parameters (i32 ones first, then v128 ones), and how many so far. */
const allocator = (params: number) => {
  let next = params
  return { take: (n = 1): Array<number> => Array.from({ length: n }, () => next++), used: (): number => next - params }
}

/** The row pointers of a group: `ptr + base + jb + k·rowBytes` (k 0-3), with k·rowBytes held in `offs`. */
const address = (ptr: number, base: number, jb: number, offs: ReadonlyArray<number>) => (k: number): Code =>
  [...get(ptr), ...get(base), ...add, ...get(jb), ...add, ...(k === 0 ? [] : [...get(offs[k - 1]!), ...add])]

/** c0..c3 = the columns of the 4×4 block in rows r0..r3 (t: temporaries). */
const transpose = (r: ReadonlyArray<number>, t: ReadonlyArray<number>, c: ReadonlyArray<number>): Code => [
  ...get(r[0]!), ...get(r[1]!), ...shuffle([0, 4, 1, 5]), ...set(t[0]!),
  ...get(r[0]!), ...get(r[1]!), ...shuffle([2, 6, 3, 7]), ...set(t[1]!),
  ...get(r[2]!), ...get(r[3]!), ...shuffle([0, 4, 1, 5]), ...set(t[2]!),
  ...get(r[2]!), ...get(r[3]!), ...shuffle([2, 6, 3, 7]), ...set(t[3]!),
  ...get(t[0]!), ...get(t[2]!), ...shuffle([0, 1, 4, 5]), ...set(c[0]!),
  ...get(t[0]!), ...get(t[2]!), ...shuffle([2, 3, 6, 7]), ...set(c[1]!),
  ...get(t[1]!), ...get(t[3]!), ...shuffle([0, 1, 4, 5]), ...set(c[2]!),
  ...get(t[1]!), ...get(t[3]!), ...shuffle([2, 3, 6, 7]), ...set(c[3]!)
]

/** acc += c0; acc += c1; acc += c2; acc += c3 (each lane: its row's next four values, in order). */
const accumulate = (acc: number, c: ReadonlyArray<number>): Code =>
  c.flatMap((ci) => [...get(acc), ...get(ci), ...f32x4Add, ...set(acc)])

/** Lane k of v in every lane. */
const broadcastLane = (v: number, k: number): Code => [...get(v), ...get(v), ...shuffle([k, k, k, k])]

/** Shared prologue: row bytes, the three row offsets, C as a float32 vector. */
const prologue = (C: number, rowBytes: number, offs: ReadonlyArray<number>, cvec: number): Code => [
  ...get(C), ...constant(2), ...shl, ...set(rowBytes),
  ...get(rowBytes), ...set(offs[0]!),
  ...get(rowBytes), ...constant(1), ...shl, ...set(offs[1]!),
  ...get(offs[0]!), ...get(offs[1]!), ...add, ...set(offs[2]!),
  ...get(C), ...f32FromU32, ...f32x4Splat, ...set(cvec)
]

/** `while (jb < rowBytes) { body; jb += 16 }` from jb = 0. */
const columns = (jb: number, rowBytes: number, body: Code): Code => [
  ...constant(0), ...set(jb),
  ...loopWhile([...get(jb), ...get(rowBytes), ...lessU], [...body, ...get(jb), ...constant(16), ...add, ...set(jb)])
]

/** `for (g = 0; g < groups; g++) { base = g · 4 · rowBytes; body }`. */
const groupsLoop = (g: number, groups: number, base: number, rowBytes: number, body: Code): Code => [
  ...constant(0), ...set(g),
  ...loopWhile([...get(g), ...get(groups), ...lessU], [
    ...get(g), ...get(rowBytes), ...constant(2), ...shl, ...mul, ...set(base),
    ...body,
    ...get(g), ...constant(1), ...add, ...set(g)
  ])
]

const forwardModule = (shared: boolean): Uint8Array => {
  // params: x, gain, bias, y, xhat, rstd (byte offsets), groups, C (i32), eps (f32)
  const [x, gain, bias, y, xhat, rstd, groups, C, eps] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const
  const local = allocator(9)
  const [g, jb, base, rowBytes] = local.take(4)
  const offs = local.take(3)
  const locals = local.used()
  const r = local.take(4)
  const t = local.take(4)
  const c = local.take(4)
  const [acc, mean4, rstd4, gv, bv, cvec, epsv, one] = local.take(8)
  const m = local.take(4)
  const s = local.take(4)
  const at = (ptr: number) => address(ptr, base, jb, offs)
  const body: Code = [
    ...prologue(C, rowBytes, offs, cvec),
    ...get(eps), ...f32x4Splat, ...set(epsv),
    ...f32Constant(1), ...f32x4Splat, ...set(one),
    ...groupsLoop(g, groups, base, rowBytes, [
      // the rows' sums, in order -> means
      ...zero, ...set(acc),
      ...columns(jb, rowBytes, [
        ...[0, 1, 2, 3].flatMap((k) => [...at(x)(k), ...load(), ...set(r[k]!)]),
        ...transpose(r, t, c),
        ...accumulate(acc, c)
      ]),
      ...get(acc), ...get(cvec), ...f32x4Div, ...set(mean4),
      ...[0, 1, 2, 3].flatMap((k) => [...broadcastLane(mean4, k), ...set(m[k]!)]),
      // the sums of (x - mean)², in order -> 1 / sqrt(variance + eps)
      ...zero, ...set(acc),
      ...columns(jb, rowBytes, [
        ...[0, 1, 2, 3].flatMap((k) => [...at(x)(k), ...load(), ...get(m[k]!), ...f32x4Sub, ...set(r[k]!), ...get(r[k]!), ...get(r[k]!), ...f32x4Mul, ...set(r[k]!)]),
        ...transpose(r, t, c),
        ...accumulate(acc, c)
      ]),
      ...get(one), ...get(acc), ...get(cvec), ...f32x4Div, ...get(epsv), ...f32x4Add, ...f32x4Sqrt, ...f32x4Div, ...set(rstd4),
      ...get(rstd), ...get(g), ...constant(4), ...shl, ...add, ...get(rstd4), ...store(),
      ...[0, 1, 2, 3].flatMap((k) => [...broadcastLane(rstd4, k), ...set(s[k]!)]),
      // xhat = (x - mean) rstd, y = xhat gain + bias
      ...columns(jb, rowBytes, [
        ...get(gain), ...get(jb), ...add, ...load(), ...set(gv),
        ...get(bias), ...get(jb), ...add, ...load(), ...set(bv),
        ...[0, 1, 2, 3].flatMap((k) => [
          ...at(xhat)(k), ...at(x)(k), ...load(), ...get(m[k]!), ...f32x4Sub, ...get(s[k]!), ...f32x4Mul, ...set(r[k]!), ...get(r[k]!), ...store(),
          ...at(y)(k), ...get(r[k]!), ...get(gv), ...f32x4Mul, ...get(bv), ...f32x4Add, ...store()
        ])
      ])
    ])
  ]
  return module({ name: "forward", params: [i32, i32, i32, i32, i32, i32, i32, i32, f32], locals, vectors: local.used() - locals, body }, shared)
}

const gradModule = (shared: boolean): Uint8Array => {
  // params: dy, xhat, rstd, gain, dx (byte offsets), groups, C (i32)
  const [dy, xhat, rstd, gain, dx, groups, C] = [0, 1, 2, 3, 4, 5, 6] as const
  const local = allocator(7)
  const [g, jb, base, rowBytes] = local.take(4)
  const offs = local.take(3)
  const locals = local.used()
  const r = local.take(4)
  const h = local.take(4)
  const t = local.take(4)
  const c = local.take(4)
  const [acc1, acc2, m1, m2, gv, cvec, rs] = local.take(7)
  const a = local.take(4)
  const b = local.take(4)
  const s = local.take(4)
  const at = (ptr: number) => address(ptr, base, jb, offs)
  const body: Code = [
    ...prologue(C, rowBytes, offs, cvec),
    ...groupsLoop(g, groups, base, rowBytes, [
      // sums of dxhat = dy gain and of dxhat xhat, in order -> their means
      ...zero, ...set(acc1),
      ...zero, ...set(acc2),
      ...columns(jb, rowBytes, [
        ...get(gain), ...get(jb), ...add, ...load(), ...set(gv),
        ...[0, 1, 2, 3].flatMap((k) => [...at(dy)(k), ...load(), ...get(gv), ...f32x4Mul, ...set(r[k]!), ...at(xhat)(k), ...load(), ...set(h[k]!)]),
        ...transpose(r, t, c),
        ...accumulate(acc1, c),
        ...[0, 1, 2, 3].flatMap((k) => [...get(r[k]!), ...get(h[k]!), ...f32x4Mul, ...set(r[k]!)]),
        ...transpose(r, t, c),
        ...accumulate(acc2, c)
      ]),
      ...get(acc1), ...get(cvec), ...f32x4Div, ...set(m1),
      ...get(acc2), ...get(cvec), ...f32x4Div, ...set(m2),
      ...get(rstd), ...get(g), ...constant(4), ...shl, ...add, ...load(), ...set(rs),
      ...[0, 1, 2, 3].flatMap((k) => [
        ...broadcastLane(m1, k), ...set(a[k]!),
        ...broadcastLane(m2, k), ...set(b[k]!),
        ...broadcastLane(rs, k), ...set(s[k]!)
      ]),
      // dx = rstd ((dxhat - mean(dxhat)) - xhat mean(dxhat xhat))
      ...columns(jb, rowBytes, [
        ...get(gain), ...get(jb), ...add, ...load(), ...set(gv),
        ...[0, 1, 2, 3].flatMap((k) => [
          ...at(dx)(k),
          ...get(s[k]!),
          ...at(dy)(k), ...load(), ...get(gv), ...f32x4Mul, ...get(a[k]!), ...f32x4Sub,
          ...at(xhat)(k), ...load(), ...get(b[k]!), ...f32x4Mul,
          ...f32x4Sub, ...f32x4Mul, ...store()
        ])
      ])
    ])
  ]
  return module({ name: "grad", params: [i32, i32, i32, i32, i32, i32, i32], locals, vectors: local.used() - locals, body }, shared)
}

export const bytes = (shared: boolean): { readonly forward: Uint8Array; readonly grad: Uint8Array } =>
  ({ forward: forwardModule(shared), grad: gradModule(shared) })

// ---------------------------------------------------------------------------------------------------------------
// The kernels.

interface Functions {
  readonly forward: (x: number, gain: number, bias: number, y: number, xhat: number, rstd: number, groups: number, C: number, eps: number) => void
  readonly grad: (dy: number, xhat: number, rstd: number, gain: number, dx: number, groups: number, C: number) => void
}

const functionsFor = perMemory((shared) => [forwardModule(shared), gradModule(shared)], ([f, g]): Functions => ({
  forward: f!["forward"] as Functions["forward"],
  grad: g!["grad"] as Functions["grad"]
}))

const size = (shape: ReadonlyArray<number>): number => shape.reduce((p, d) => p * d, 1)

const inputs = (params: Parameters<tf.KernelFunc>[0], keys: ReadonlyArray<string>, kernel: string): Array<tf.TensorInfo> =>
  keys.map((k) => {
    const t = (params.inputs as Record<string, tf.TensorInfo | undefined>)[k]
    if (t === undefined) throw new Error(`${kernel}: input ${k} is missing`)
    if (t.dtype !== "float32") throw new Error(`${kernel}: input ${k} is ${t.dtype} (float32 only)`)
    return t
  })

/** (N, C) and (C): the shapes both kernels need, else a one-line error. */
const checkShapes = (kernel: string, x: tf.TensorInfo, gain: tf.TensorInfo): readonly [number, number] => {
  if (x.shape.length !== 2 || gain.shape.length !== 1 || gain.shape[0] !== x.shape[1] || x.shape[1]! % 4 !== 0) {
    throw new Error(`${kernel}: shapes [${x.shape}] and [${gain.shape}] (want (N, C) and (C), C a multiple of 4)`)
  }
  return [x.shape[0]!, x.shape[1]!]
}

const simdOf = (backend: Wasm.Backend, kernel: string): { readonly memory: Wasm.Memory; readonly f: Functions } => {
  const memory = Wasm.memory(backend)
  const f = memory === undefined ? undefined : functionsFor(memory)
  if (memory === undefined || f === undefined) throw new Error(`${kernel}: this runtime has no WebAssembly SIMD over the heap`)
  return { memory, f }
}

const forwardKernel: tf.KernelFunc = (params) => {
  const [x, gain, bias] = inputs(params, ["x", "gain", "bias"], names.forward)
  const [N, C] = checkShapes(names.forward, x!, gain!)
  const eps = (params.attrs as { eps?: number }).eps ?? 1e-5
  const backend = Wasm.of(params.backend)
  const { memory, f } = simdOf(backend, names.forward)
  const y = backend.makeOutput([N, C], "float32")
  const xhat = backend.makeOutput([N, C], "float32")
  const rstd = backend.makeOutput([N, 1], "float32")
  const offset = (t: tf.TensorInfo) => Wasm.dataOf(backend, t).memoryOffset
  const groups = N >> 2
  f.forward(offset(x!), offset(gain!), offset(bias!), offset(y), offset(xhat), offset(rstd), groups, C, eps)
  if (4 * groups < N) {
    const view = (t: tf.TensorInfo) => new Float32Array(memory.buffer, offset(t), size(t.shape))
    forwardRows(view(x!), view(gain!), view(bias!), eps, view(y), view(xhat), view(rstd), C, 4 * groups, N)
  }
  return [y, xhat, rstd]
}

const gradKernel: tf.KernelFunc = (params) => {
  const [dy, xhat, rstd, gain] = inputs(params, ["dy", "xhat", "rstd", "gain"], names.grad)
  const [N, C] = checkShapes(names.grad, dy!, gain!)
  if (xhat!.shape.join() !== dy!.shape.join() || size(rstd!.shape) !== N) {
    throw new Error(`${names.grad}: shapes [${dy!.shape}], [${xhat!.shape}], [${rstd!.shape}] (want (N, C), (N, C), (N, 1))`)
  }
  const backend = Wasm.of(params.backend)
  const { memory, f } = simdOf(backend, names.grad)
  const dx = backend.makeOutput([N, C], "float32")
  const offset = (t: tf.TensorInfo) => Wasm.dataOf(backend, t).memoryOffset
  const groups = N >> 2
  f.grad(offset(dy!), offset(xhat!), offset(rstd!), offset(gain!), offset(dx), groups, C)
  if (4 * groups < N) {
    const view = (t: tf.TensorInfo) => new Float32Array(memory.buffer, offset(t), size(t.shape))
    gradRows(view(dy!), view(xhat!), view(rstd!), view(gain!), view(dx), C, 4 * groups, N)
  }
  return dx
}

/** Registers both kernels on the wasm backend (idempotent). */
export const install = (): void => {
  if (tf.getKernel(names.forward, "wasm") === undefined) tf.registerKernel({ kernelName: names.forward, backendName: "wasm", kernelFunc: forwardKernel })
  if (tf.getKernel(names.grad, "wasm") === undefined) tf.registerKernel({ kernelName: names.grad, backendName: "wasm", kernelFunc: gradKernel })
}

/** Whether the kernels run here for width C: the wasm backend, its heap reachable, WebAssembly SIMD, C a multiple of 4. */
export const available = (C: number): boolean => {
  if (C % 4 !== 0 || tf.getBackend() !== "wasm" || tf.getKernel(names.forward, "wasm") === undefined) return false
  const memory = Wasm.memory(Wasm.of(tf.backend()))
  return memory !== undefined && functionsFor(memory) !== undefined
}
