import { execFile } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import * as tf from "@tensorflow/tfjs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as MatmulKernels from "../../../src/model/backend/MatmulKernels.ts"
import * as OpenBlas from "../../../src/model/backend/OpenBlas.ts"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"
import { on, quietCpu, relativeError, sizeOf, values } from "./Reference.ts"

/**
 * The wasm matmul kernels with OpenBLAS as their 2-D multiply, against the cpu backend. Skipped where the addon is
 * not built (no libopenblas-dev): the XNNPACK kernel tests (MatmulKernels.test.ts) run everywhere.
 */
const addon = OpenBlas.loadAddon()
const built = typeof addon !== "string"

/** The brief's bound on a kernel's error against the cpu backend. */
const tolerance = 1e-4

type Activation = "linear" | "relu" | "relu6" | "elu" | "sigmoid" | "leakyrelu" | "prelu"
const activations: ReadonlyArray<Activation> = ["linear", "relu", "relu6", "elu", "sigmoid", "leakyrelu", "prelu"]

interface Case {
  readonly a: ReadonlyArray<number>
  readonly b: ReadonlyArray<number>
  readonly transposeA: boolean
  readonly transposeB: boolean
  readonly bias?: ReadonlyArray<number>
  readonly activation?: Activation
}

const label = (c: Case): string =>
  `[${c.a}]${c.transposeA ? "ᵀ" : ""}·[${c.b}]${c.transposeB ? "ᵀ" : ""}` +
  (c.bias !== undefined ? ` +bias[${c.bias}]` : "") + (c.activation !== undefined ? ` ${c.activation}` : "")

const make = (
  batchA: ReadonlyArray<number>,
  batchB: ReadonlyArray<number>,
  [m, k, n]: readonly [number, number, number],
  transposeA: boolean,
  transposeB: boolean
): Case => ({
  a: [...batchA, ...(transposeA ? [k, m] : [m, k])],
  b: [...batchB, ...(transposeB ? [n, k] : [k, n])],
  transposeA,
  transposeB
})

const transposes = [[false, false], [true, false], [false, true], [true, true]] as const

/** Odd and even sizes, below and above OpenBLAS's blocking (1, 2, 7, 33, 64, 129). */
const dims = [1, 2, 7, 33, 64, 129] as const

/** 2-D: each size in each position (m, k, n), with every transpose combination. */
const plainCases: ReadonlyArray<Case> = dims.flatMap((_, i) =>
  transposes.map(([ta, tb]) => make([], [], [dims[i], dims[(i + 2) % 6], dims[(i + 4) % 6]], ta, tb))
).concat(dims.flatMap((_, i) => transposes.map(([ta, tb]) => make([], [], [dims[(i + 1) % 6], dims[i], dims[(i + 3) % 6]], ta, tb))))

/** Batches: true batches, broadcast on either side (rank 3 and rank 2 against rank 3), rank 4 with both broadcast. */
const batchShapes: ReadonlyArray<readonly [ReadonlyArray<number>, ReadonlyArray<number>]> = [
  [[3], [3]],
  [[3], [1]],
  [[1], [3]],
  [[3], []],
  [[], [3]],
  [[2, 3], [2, 3]],
  [[2, 3], []],
  [[2, 1], [1, 3]],
  [[1, 3], [2, 1]]
]
const batchedCases: ReadonlyArray<Case> = batchShapes.flatMap(([ba, bb], i) =>
  transposes.map(([ta, tb]) => make(ba, bb, [dims[(i + 1) % 6], dims[(i + 3) % 6], dims[(i + 2) % 6]], ta, tb))
)

/** Fused: every activation without and with a bias ([n], [1, n], [m, n]) over plain, transposed and batched shapes. */
const fusedCases: ReadonlyArray<Case> = [plainCases[2], plainCases[7], plainCases[13], batchedCases[1], batchedCases[6], batchedCases[15], batchedCases[22]]
  .flatMap((c, i) => {
    const m = c.transposeA ? c.a[c.a.length - 1] : c.a[c.a.length - 2]
    const n = c.transposeB ? c.b[c.b.length - 2] : c.b[c.b.length - 1]
    const biases = [[n], [1, n], [m, n]]
    return activations.flatMap((activation, j) => [{ ...c, activation }, { ...c, activation, bias: biases[(i + j) % 3] }])
  })

const nOf = (c: Case): number => (c.transposeB ? c.b[c.b.length - 2] : c.b[c.b.length - 1])

const product = (c: Case): tf.Tensor => {
  const a = tf.tensor(values(sizeOf(c.a), 1), [...c.a])
  const b = tf.tensor(values(sizeOf(c.b), 2), [...c.b])
  if (c.activation === undefined && c.bias === undefined) return tf.matMul(a, b, c.transposeA, c.transposeB)
  return tf.fused.matMul({
    a,
    b,
    transposeA: c.transposeA,
    transposeB: c.transposeB,
    ...(c.bias !== undefined ? { bias: tf.tensor(values(sizeOf(c.bias), 3), [...c.bias]) } : {}),
    activation: c.activation ?? "linear",
    ...(c.activation === "prelu" ? { preluActivationWeights: tf.tensor(values(nOf(c), 4)) } : {}),
    ...(c.activation === "leakyrelu" ? { leakyreluAlpha: 0.15 } : {})
  })
}

/**
 * The cpu backend's batched matmul does not broadcast both sides at once (e.g. [2,1]·[1,3]): the reference tiles
 * both batches to the output's first (numpy semantics).
 */
const reference = (c: Case): tf.Tensor => {
  const ra = c.a.length - 2
  const rb = c.b.length - 2
  const rank = Math.max(ra, rb)
  const ba = [...new Array<number>(rank - ra).fill(1), ...c.a.slice(0, ra)]
  const bb = [...new Array<number>(rank - rb).fill(1), ...c.b.slice(0, rb)]
  const out = ba.map((d, i) => Math.max(d, bb[i]))
  const tile = (shape: ReadonlyArray<number>, batch: ReadonlyArray<number>, salt: number): tf.Tensor => {
    const t = tf.tensor(values(sizeOf(shape), salt), [...batch, ...shape.slice(-2)])
    return rank === 0 ? t : tf.tile(t, [...out.map((d, i) => d / batch[i]), 1, 1])
  }
  return tf.tidy(() => {
      const a = tile(c.a, ba, 1)
      const b = tile(c.b, bb, 2)
      if (c.activation === undefined && c.bias === undefined) return tf.matMul(a, b, c.transposeA, c.transposeB)
      return tf.fused.matMul({
        a,
        b,
        transposeA: c.transposeA,
        transposeB: c.transposeB,
        ...(c.bias !== undefined ? { bias: tf.tensor(values(sizeOf(c.bias), 3), [...c.bias]) } : {}),
        activation: c.activation ?? "linear",
        ...(c.activation === "prelu" ? { preluActivationWeights: tf.tensor(values(nOf(c), 4)) } : {}),
        ...(c.activation === "leakyrelu" ? { leakyreluAlpha: 0.15 } : {})
      })
    })
}

/** 2-D products the OpenBLAS multiply has run (the registered multiply counts its calls, then runs OpenBLAS). */
let gemmCalls = 0

const check = async (cases: ReadonlyArray<Case>): Promise<void> => {
  const failures: Array<string> = []
  for (const c of cases) {
    const before = gemmCalls
    const got = await on("wasm", () => product(c))
    const want = await on("cpu", () => reference(c))
    const error = relativeError(got, want)
    if (!(error <= tolerance)) failures.push(`${label(c)}: relative error ${error.toExponential(2)}`)
    if (gemmCalls === before) failures.push(`${label(c)}: did not reach OpenBLAS`)
  }
  await tf.setBackend("wasm")
  assert.deepStrictEqual(failures, [])
}

describe.skipIf(!built)("wasm matmul kernels with OpenBLAS, against the cpu backend", () => {
  beforeAll(async () => {
    const info = await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 2, matmul: "openblas" }, {}))
    assert.strictEqual(info.matmul, "openblas")
    assert.deepStrictEqual(info.threads, { requested: 2, wasm: 1, blas: 2, tensorflow: 0 })
    const gemm = await OpenBlas.load(2)
    if (typeof gemm === "string") throw new Error(gemm)
    MatmulKernels.register({ ...gemm, gemm2d: (call) => (gemmCalls++, gemm.gemm2d(call)) })
    await quietCpu()
  })

  it("OpenBLAS is the matmul path, with 2 BLAS threads", () => {
    assert.strictEqual(MatmulKernels.path(), "openblas")
    assert.strictEqual(OpenBlas.threads(), 2)
    assert.match(OpenBlas.config() ?? "", /OpenBLAS/)
  })
  it("BatchMatMul, 2-D, odd sizes, every transpose", () => check(plainCases))
  it("BatchMatMul, batched and broadcast, every transpose", () => check(batchedCases))
  it("_FusedMatMul, every activation, without and with a bias", () => check(fusedCases))

  it("random shapes, batches, broadcasts, transposes, biases and activations (property, seeded)", () =>
    fc.assert(
      fc.asyncProperty(
        fc.record({
          m: fc.integer({ min: 1, max: 40 }),
          k: fc.integer({ min: 1, max: 40 }),
          n: fc.integer({ min: 1, max: 40 }),
          batch: fc.array(fc.constantFrom(1, 2, 3), { maxLength: 2 }),
          dropA: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }), // which batch dims A sees as 1
          dropB: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
          rankB: fc.integer({ min: 0, max: 2 }),
          ta: fc.boolean(),
          tb: fc.boolean(),
          fused: fc.option(fc.record({ activation: fc.constantFrom(...activations), bias: fc.boolean() }), { nil: undefined })
        }),
        async (p) => {
          const batchA = p.batch.map((d, i) => (p.dropA[i] ? 1 : d))
          const broadcastB = p.batch.map((d, i) => (p.dropB[i] ? 1 : d)).slice(p.batch.length - Math.min(p.rankB, p.batch.length))
          // tfjs-core's fused.matMul flattens batches before broadcasting: it takes only B unbatched or B's batch = A's
          const batchB = p.fused === undefined ? broadcastB : p.rankB === 0 ? [] : batchA
          const c0 = make(batchA, batchB, [p.m, p.k, p.n], p.ta, p.tb)
          const c: Case = p.fused === undefined
            ? c0
            : { ...c0, activation: p.fused.activation, ...(p.fused.bias ? { bias: [p.n] } : {}) }
          const got = await on("wasm", () => product(c))
          const want = await on("cpu", () => reference(c))
          await tf.setBackend("wasm")
          return relativeError(got, want) <= tolerance
        }
      ),
      { seed: 20261123, numRuns: 80 } // fixed seed: the same shapes on every run
    ))

  it("gradients of batched, transposed, fused products match cpu", async () => {
    const grads = () => {
      const a = tf.tensor(values(3 * 33 * 7, 1), [3, 33, 7])
      const b = tf.tensor(values(3 * 64 * 33, 2), [3, 64, 33])
      const bias = tf.tensor(values(64, 3))
      const w = tf.tensor(values(3 * 64 * 7, 5), [3, 64, 7]) // tfjs's matmul gradient does not reduce a broadcast batch
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor, v: tf.Tensor) => {
        const h = tf.fused.matMul({ a: x as tf.Tensor3D, b: y as tf.Tensor3D, transposeA: true, transposeB: true, bias: z, activation: "relu" })
        return tf.sum(tf.square(tf.matMul(h, v as tf.Tensor3D)))
      })([a, b, bias, w])
      return tf.concat(g.map((t) => t.flatten()))
    }
    const got = await on("wasm", grads)
    const want = await on("cpu", grads)
    await tf.setBackend("wasm")
    assert.isAtMost(relativeError(got, want), tolerance)
  })

  it("1 and 2 BLAS threads give the cpu backend's result on a product large enough to be split", async () => {
    const c = make([], [], [300, 257, 190], false, true)
    const want = await on("cpu", () => product(c))
    const results: Array<number> = []
    for (const t of [1, 2]) {
      OpenBlas.setThreads(t)
      assert.strictEqual(OpenBlas.threads(), t)
      results.push(relativeError(await on("wasm", () => product(c)), want))
    }
    OpenBlas.setThreads(2)
    await tf.setBackend("wasm")
    for (const e of results) assert.isAtMost(e, tolerance)
  })

  it("empty products: zero rows, and an inner size of 0 (all zeros)", async () => {
    const rows = await on("wasm", () => tf.matMul(tf.zeros([0, 4]), tf.ones([4, 3])))
    const inner = await on("wasm", () => tf.matMul(tf.ones([0, 2]), tf.ones([0, 3]), true, false))
    assert.strictEqual(rows.length, 0)
    assert.deepStrictEqual(Array.from(inner), [0, 0, 0, 0, 0, 0])
  })

  it("release every temporary they make", async () => {
    await tf.setBackend("wasm")
    const before = tf.memory().numBytes
    for (const c of [...batchedCases.slice(0, 8), ...fusedCases.slice(0, 8)]) tf.tidy(() => product(c).dataSync())
    assert.strictEqual(tf.memory().numBytes, before)
  })
})

describe.skipIf(!built)("the addon's sgemm", () => {
  const blas = addon as OpenBlas.Addon

  /** Float64 reference for one row-major product with leading dimensions. */
  const naive = (f: Float32Array, ta: boolean, tb: boolean, m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number) =>
    Array.from({ length: m * n }, (_, x) => {
      const i = Math.floor(x / n)
      const j = x % n
      let s = 0
      for (let p = 0; p < k; p++) s += f[a + (ta ? p * lda + i : i * lda + p)] * f[b + (tb ? j * ldb + p : p * ldb + j)]
      return s
    })

  it("takes leading dimensions, alpha, beta, and a batch with byte strides", () => {
    const f = new Float32Array(4096)
    f.set(values(4096, 7))
    const [m, n, k, lda, ldb, ldc] = [5, 3, 4, 6, 5, 7] // padded rows
    const [a, b, c] = [0, 200, 400] // element offsets
    const stride = 100 // elements between matrices of the batch
    const want = [0, 1].map((i) => naive(f, true, false, m, n, k, a + i * stride, lda, b + i * stride, ldb))
    const old = [0, 1].map((i) => Array.from({ length: m * n }, (_, x) => f[c + i * stride + Math.floor(x / n) * ldc + (x % n)]))
    blas.sgemm(f.buffer, true, false, m, n, k, 2, 4 * a, lda, 4 * b, ldb, 0.5, 4 * c, ldc, 2, 4 * stride, 4 * stride, 4 * stride)
    for (const i of [0, 1]) {
      const got = Array.from({ length: m * n }, (_, x) => f[c + i * stride + Math.floor(x / n) * ldc + (x % n)])
      assert.isAtMost(relativeError(got, want[i].map((v, x) => 2 * v + 0.5 * old[i][x])), 1e-6)
    }
  })

  it("reads a SharedArrayBuffer through a view, offsets counted from the view", () => {
    const shared = new SharedArrayBuffer(256)
    const f = new Float32Array(shared, 64, 12)
    f.set([1, 2, 3, 4, 5, 6, 7, 8], 0) // A 2×2 at 0, B 2×2 at 16 bytes... of the view
    blas.sgemm(f, false, false, 2, 2, 2, 1, 0, 2, 16, 2, 0, 32, 2)
    assert.deepStrictEqual(Array.from(f.subarray(8, 12)), [19, 22, 43, 50])
  })

  it("refuses operands outside memory, short leading dimensions and bad arguments, touching nothing", () => {
    const f = new Float32Array(64)
    const call = (...args: Parameters<OpenBlas.Addon["sgemm"]>) => () => blas.sgemm(...args)
    assert.throws(call(f.buffer, false, false, 4, 4, 4, 1, 0, 4, 64, 4, 0, 200, 4), /C lies outside memory/)
    assert.throws(call(f.buffer, false, false, 4, 4, 4, 1, 0, 3, 64, 4, 0, 128, 4), /lda is too small/)
    assert.throws(call(f.buffer, false, false, 2, 2, 2, 1, 0, 2, 2, 2, 0, 64, 2), /B lies outside memory/) // misaligned
    assert.throws(call(f.buffer, false, false, 2, 2, 2, 1, 0, 2, 16, 2, 0, 32, 2, 20, 0, 0, 16), /C lies outside memory/)
    assert.throws(call(f.buffer, false, false, -1, 2, 2, 1, 0, 2, 16, 2, 0, 32, 2), /m must be a non-negative integer/)
    assert.throws(call(f.buffer, false, false, 1.5, 2, 2, 1, 0, 2, 16, 2, 0, 32, 2), /m must be a non-negative integer/)
    assert.throws(() => blas.sgemm([] as unknown as ArrayBuffer, false, false, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 1), /ArrayBuffer/)
    assert.throws(() => blas.setThreads(0), /threads/)
    assert.isTrue(f.every((x) => x === 0))
  })
})

describe.skipIf(!built)("stepagent backend with the addon built", () => {
  it("reports openblas, every BLAS thread, wasm single-threaded, no notice", async () => {
    const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "../../..")
    const env = { ...process.env, STEPAGENT_MATMUL: "", STEPAGENT_THREADS: "", STEPAGENT_BACKEND: "" }
    const { stdout } = await promisify(execFile)(process.execPath, [Path.join(root, "bin/stepagent.ts"), "backend", "--json", "--backend", "wasm", "--threads", "2"], { cwd: root, env })
    const report = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as { matmul: string; threads: unknown; notices: Array<string> }
    assert.strictEqual(report.matmul, "openblas")
    assert.deepStrictEqual(report.threads, { requested: 2, wasm: 1, blas: 2, tensorflow: 0 })
    assert.deepStrictEqual(report.notices, [])
  })
})
