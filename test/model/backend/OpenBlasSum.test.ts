import * as tf from "@tensorflow/tfjs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as OpenBlas from "../../../src/model/backend/OpenBlas.ts"
import * as OpenBlasSum from "../../../src/model/backend/OpenBlasSum.ts"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"
import { on, quietCpu, relativeError, sizeOf, values } from "./Reference.ts"

const built = typeof OpenBlas.loadAddon() !== "string"

describe("OpenBlasSum.plan (which sums are column sums)", () => {
  it("takes exactly the leading axes, in any order or sign, with or without kept dims", () => {
    assert.deepStrictEqual(OpenBlasSum.plan([6, 4], 0, false), { rows: 6, cols: 4, outShape: [4] })
    assert.deepStrictEqual(OpenBlasSum.plan([2, 3, 4], [1, 0], true), { rows: 6, cols: 4, outShape: [1, 1, 4] })
    assert.deepStrictEqual(OpenBlasSum.plan([2, 3, 4], [-3, -2], false), { rows: 6, cols: 4, outShape: [4] })
    assert.deepStrictEqual(OpenBlasSum.plan([5], [0], false), { rows: 5, cols: 1, outShape: [] })
    assert.deepStrictEqual(OpenBlasSum.plan([2, 3], null, false), { rows: 6, cols: 1, outShape: [] })
    assert.deepStrictEqual(OpenBlasSum.plan([2, 3], undefined, true), { rows: 6, cols: 1, outShape: [1, 1] })
    assert.deepStrictEqual(OpenBlasSum.plan([0, 3], 0, false), { rows: 0, cols: 3, outShape: [3] })
  })
  it("leaves other reductions to the stock kernel", () => {
    assert.isUndefined(OpenBlasSum.plan([6, 4], 1, false)) // innermost: the stock kernel needs no transpose
    assert.isUndefined(OpenBlasSum.plan([2, 3, 4], [0, 2], false)) // not a prefix
    assert.isUndefined(OpenBlasSum.plan([2, 3, 4], [1], false))
    assert.isUndefined(OpenBlasSum.plan([], null, false)) // a scalar
    assert.isUndefined(OpenBlasSum.plan([2, 3], [], false))
  })
})

describe.skipIf(!built)("the OpenBLAS Sum kernel against the cpu backend", () => {
  beforeAll(async () => {
    const info = await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 1, matmul: "openblas" }, {}))
    assert.strictEqual(info.matmul, "openblas")
    await quietCpu()
  })

  it("is the wasm Sum once OpenBLAS is loaded", () => assert.isTrue(OpenBlasSum.installed()))

  const cases: ReadonlyArray<readonly [ReadonlyArray<number>, number | Array<number> | undefined, boolean]> = [
    [[2048, 33], 0, false], // a bias gradient
    [[257, 129], 0, true],
    [[3, 5, 7], [0, 1], false],
    [[3, 5, 7], [1, 0], true],
    [[3, 5, 7], 0, false],
    [[3, 5, 7], -3, true],
    [[3, 5, 7], 2, false], // stock: innermost
    [[3, 5, 7], [0, 2], true], // stock: not a prefix
    [[3, 5, 7], undefined, false], // every axis
    [[1000], 0, false],
    [[0, 4], 0, false], // empty: zeros
    [[4, 0], 0, false]
  ]

  it("float32 sums over every kind of axis set, kept dims or not", async () => {
    const failures: Array<string> = []
    for (const [shape, axis, keepDims] of cases) {
      const f = () => tf.sum(tf.tensor(values(sizeOf(shape), 9), [...shape]), axis, keepDims)
      const shapes: Array<ReadonlyArray<number>> = []
      const got = await on("wasm", () => {
        const t = f()
        shapes.push(t.shape)
        return t
      })
      const want = await on("cpu", () => {
        const t = f()
        shapes.push(t.shape)
        return t
      })
      const error = relativeError(got, want)
      if (!(error <= 1e-5) || shapes[0].join() !== shapes[1].join()) {
        failures.push(`[${shape}] axis ${JSON.stringify(axis)} keepDims ${keepDims}: error ${error}, shapes ${shapes[0]} vs ${shapes[1]}`)
      }
    }
    await tf.setBackend("wasm")
    assert.deepStrictEqual(failures, [])
  })

  it("int32 sums go to the stock kernel and stay int32", async () => {
    await tf.setBackend("wasm")
    const s = tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], "int32"), 0)
    assert.strictEqual(s.dtype, "int32")
    assert.deepStrictEqual(Array.from(s.dataSync()), [9, 12])
    s.dispose()
  })

  it("bias gradients through it match cpu", async () => {
    const grads = () => {
      const x = tf.tensor(values(64 * 48, 1), [64, 48])
      const w = tf.tensor(values(48 * 40, 2), [48, 40])
      const b = tf.tensor(values(40, 3))
      const g = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.add(tf.matMul(x, p as tf.Tensor2D), q))))([w, b])
      return tf.concat(g.map((t) => t.flatten()))
    }
    const got = await on("wasm", grads)
    const want = await on("cpu", grads)
    await tf.setBackend("wasm")
    assert.isAtMost(relativeError(got, want), 1e-4)
  })

  it("releases what it does not return", async () => {
    await tf.setBackend("wasm")
    const before = tf.memory().numBytes
    for (const [shape, axis, keepDims] of cases) tf.tidy(() => tf.sum(tf.tensor(values(sizeOf(shape), 9), [...shape]), axis, keepDims).dataSync())
    assert.strictEqual(tf.memory().numBytes, before)
  })
})
