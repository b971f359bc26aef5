import * as tf from "@tensorflow/tfjs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as MatmulKernels from "../../../src/model/backend/MatmulKernels.ts"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"
import { on, quietCpu, relativeError, sizeOf, sizes, values } from "./Reference.ts"

/** The brief's bound on a replaced kernel's error against the cpu backend. */
const tolerance = 1e-4

type Activation = "linear" | "relu" | "relu6" | "elu" | "sigmoid" | "leakyrelu" | "prelu"

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

/** A's and B's shapes for m×k·k×n with batch shapes, stored transposed where asked. */
const shapes = (batchA: ReadonlyArray<number>, batchB: ReadonlyArray<number>, m: number, k: number, n: number, ta: boolean, tb: boolean) => ({
  a: [...batchA, ...(ta ? [k, m] : [m, k])],
  b: [...batchB, ...(tb ? [n, k] : [k, n])]
})

const transposes = [[false, false], [true, false], [false, true], [true, true]] as const

/** 2-D products: every size in every position (m, k, n), each with the four transpose combinations. */
const plainCases: Array<Case> = sizes.flatMap((_, i) =>
  [[sizes[i], sizes[(i + 2) % 6], sizes[(i + 4) % 6]], [sizes[i], sizes[(i + 3) % 6], sizes[(i + 1) % 6]]].flatMap(([m, k, n]) =>
    transposes.map(([ta, tb]) => ({ ...shapes([], [], m, k, n, ta, tb), transposeA: ta, transposeB: tb }))
  )
)

/** Batched products: true batches, broadcast batch 1 vs N on either side (as rank 3 and as rank 2), rank 4. */
const batches: ReadonlyArray<readonly [ReadonlyArray<number>, ReadonlyArray<number>]> = [
  [[4], [4]],
  [[4], [1]],
  [[1], [4]],
  [[4], []],
  [[], [4]],
  [[2, 3], [2, 3]],
  [[2, 3], [1, 1]],
  [[1, 3], [2, 3]]
]
const batchedCases: Array<Case> = batches.flatMap(([ba, bb], i) =>
  transposes.map(([ta, tb]) => {
    const [m, k, n] = [sizes[(i + 1) % 6], sizes[(i + 3) % 6], sizes[(i + 5) % 6]]
    return { ...shapes(ba, bb, m, k, n, ta, tb), transposeA: ta, transposeB: tb }
  })
)

const activations: ReadonlyArray<Activation> = ["linear", "relu", "relu6", "elu", "sigmoid", "leakyrelu", "prelu"]

/** Fused products: with and without a bias, every activation, over plain, transposed, batched and broadcast shapes. */
const fusedCases: Array<Case> = [
  ...[plainCases[0], plainCases[5], plainCases[10], plainCases[15], plainCases[22]],
  ...[batchedCases[0], batchedCases[7], batchedCases[9], batchedCases[14], batchedCases[19]]
].flatMap((c, i) => {
  const n = c.transposeB ? c.b[c.b.length - 2] : c.b[c.b.length - 1]
  return activations.flatMap((activation, j) => [
    { ...c, activation },
    { ...c, activation, bias: (i + j) % 3 === 2 ? [1, n] : [n] }
  ])
})

const product = (c: Case): tf.Tensor => {
  const a = tf.tensor(values(sizeOf(c.a), 1), [...c.a])
  const b = tf.tensor(values(sizeOf(c.b), 2), [...c.b])
  if (c.activation === undefined) return tf.matMul(a, b, c.transposeA, c.transposeB)
  const n = c.transposeB ? c.b[c.b.length - 2] : c.b[c.b.length - 1]
  return tf.fused.matMul({
    a,
    b,
    transposeA: c.transposeA,
    transposeB: c.transposeB,
    ...(c.bias !== undefined ? { bias: tf.tensor(values(sizeOf(c.bias), 3), [...c.bias]) } : {}),
    activation: c.activation,
    ...(c.activation === "prelu" ? { preluActivationWeights: tf.tensor(values(n, 4)) } : {}),
    ...(c.activation === "leakyrelu" ? { leakyreluAlpha: 0.15 } : {})
  })
}

const check = async (cases: ReadonlyArray<Case>): Promise<void> => {
  const failures: Array<string> = []
  for (const c of cases) {
    const got = await on("wasm", () => product(c))
    const want = await on("cpu", () => product(c))
    const error = relativeError(got, want)
    if (!(error <= tolerance)) failures.push(`${label(c)}: relative error ${error.toExponential(2)}`)
  }
  await tf.setBackend("wasm")
  assert.deepStrictEqual(failures, [])
}

beforeAll(async () => {
  await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 1, matmul: "xnnpack" }, {}))
  await quietCpu()
})

describe("wasm matmul kernels (XNNPACK) against the cpu backend", () => {
  it("are installed", () => assert.strictEqual(MatmulKernels.path(), "xnnpack"))
  it("BatchMatMul, 2-D, every transpose", () => check(plainCases))
  it("BatchMatMul, batched and broadcast", () => check(batchedCases))
  it("_FusedMatMul, bias and activations", () => check(fusedCases))

  it("products run flipped, (op(B)^T·op(A)^T)^T (weight and key gradients, decoding against a prefix, a tied head), match cpu", () =>
    check([
      { a: [323, 40], b: [323, 130], transposeA: true, transposeB: false },
      { a: [323, 40], b: [323, 130], transposeA: true, transposeB: false, bias: [130], activation: "relu" },
      { a: [2, 3, 40, 8], b: [2, 3, 40, 30], transposeA: true, transposeB: false }, // attention's key gradient q^T·dS, per head
      { a: [1, 40, 8], b: [3, 40, 30], transposeA: true, transposeB: false }, // broadcast: not flipped
      { a: [1, 4, 6, 8], b: [1, 4, 8, 70], transposeA: false, transposeB: false }, // decoding: a few queries against a prefix's keys
      { a: [1, 4, 6, 70], b: [1, 4, 70, 8], transposeA: false, transposeB: false }, // ... and its values
      { a: [6, 16], b: [90, 16], transposeA: false, transposeB: true } // a tied LM head on a few rows
    ]))

  it("flips where packing the right operand costs more, never for a weight (a variable, untransposed)", () => {
    assert.isTrue(MatmulKernels.flips([1292, 128], [1292, 512], true, false)) // X^T·dY, 128 -> 512
    assert.isFalse(MatmulKernels.flips([1292, 512], [1292, 128], true, false)) // X^T·dY, 512 -> 128
    assert.isTrue(MatmulKernels.flips([1, 4, 16, 32], [1, 4, 32, 480], false, false)) // decoding's q·K^T
    assert.isTrue(MatmulKernels.flips([16, 128], [1024, 128], false, true)) // decoding's tied LM head
    assert.isFalse(MatmulKernels.flips([1112, 128], [1024, 128], false, true)) // training's tied LM head
    assert.isTrue(MatmulKernels.flips([16, 128], [128, 512], false, false)) // a fresh operand
    assert.isFalse(MatmulKernels.flips([16, 128], [128, 512], false, false, true)) // a weight
    assert.isFalse(MatmulKernels.flips([2, 1, 40, 8], [2, 3, 40, 30], true, false)) // broadcast batches
  })

  it("broadcasts batches as numpy does ([2,1] with [1,3] gives [2,3])", async () => {
    const a = values(2 * 1 * 5 * 4, 1)
    const b = values(1 * 3 * 4 * 6, 2)
    const got = await on("wasm", () => tf.matMul(tf.tensor(a, [2, 1, 5, 4]), tf.tensor(b, [1, 3, 4, 6])))
    // Reference: both sides tiled to the full batch first (the cpu kernel does not broadcast this case).
    const want = await on("cpu", () =>
      tf.matMul(tf.tile(tf.tensor(a, [2, 1, 5, 4]), [1, 3, 1, 1]), tf.tile(tf.tensor(b, [1, 3, 4, 6]), [2, 1, 1, 1]))
    )
    await tf.setBackend("wasm")
    assert.isAtMost(relativeError(got, want), tolerance)
  })

  it("gradients of a batched, transposed fused product match cpu", async () => {
    const grads = () => {
      const a = tf.tensor(values(3 * 17 * 65, 1), [3, 17, 65])
      const b = tf.tensor(values(3 * 63 * 65, 2), [3, 63, 65])
      const bias = tf.tensor(values(63, 3))
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.matMul({ a: x as tf.Tensor3D, b: y as tf.Tensor3D, transposeB: true, bias: z, activation: "relu" })))
      )([a, b, bias])
      return tf.concat(g.map((t) => t.flatten()))
    }
    const got = await on("wasm", grads)
    const want = await on("cpu", grads)
    await tf.setBackend("wasm")
    assert.isAtMost(relativeError(got, want), tolerance)
  })

  it("empty products: zero rows, and an inner size of 0 (all zeros)", async () => {
    const rows = await on("wasm", () => tf.matMul(tf.zeros([0, 4]), tf.ones([4, 3])))
    const inner = await on("wasm", () => tf.matMul(tf.ones([2, 0]), tf.ones([0, 3])))
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

/**
 * A registered 2-D multiply that takes transposes itself (as OpenBLAS does): plain JS over the wasm heap.
 * Every product then goes through the hook, and bias and activation through the kernels' own Add/activation.
 */
const jsGemm: MatmulKernels.Gemm = {
  path: "openblas",
  transposes: true,
  gemm2d: ({ a, b, c, heap, k, m, n, transposeA, transposeB }) => {
    const A = new Float32Array(heap, a, m * k)
    const B = new Float32Array(heap, b, k * n)
    const C = new Float32Array(heap, c, m * n)
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0
        for (let p = 0; p < k; p++) s += (transposeA ? A[p * m + i] : A[i * k + p]) * (transposeB ? B[j * k + p] : B[p * n + j])
        C[i * n + j] = s
      }
    }
  }
}

describe("the 2-D multiply hook (MatmulKernels.register)", () => {
  it("routes every product through the registered multiply, transposes included", async () => {
    MatmulKernels.register(jsGemm)
    assert.strictEqual(MatmulKernels.path(), "openblas")
    try {
      await check([...plainCases.filter((_, i) => i % 3 === 0), ...batchedCases.filter((_, i) => i % 3 === 0), ...fusedCases.filter((_, i) => i % 4 === 0)])
    } finally {
      MatmulKernels.unregister()
    }
    assert.strictEqual(MatmulKernels.path(), "xnnpack")
  })
})
