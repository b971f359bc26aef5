import { assert, describe, it } from "@effect/vitest"
import { fc, test } from "@fast-check/vitest"
import * as BatchPlan from "../../../src/model/backend/BatchPlan.ts"

const size = (shape: ReadonlyArray<number>) => shape.reduce((p, d) => p * d, 1)

/** A plan's product computed from its calls on plain arrays: what a kernel following it would write. */
const execute = (
  plan: BatchPlan.Plan,
  a: ReadonlyArray<number>,
  b: ReadonlyArray<number>,
  transposeA: boolean,
  transposeB: boolean
): Array<number> => {
  const { k, n } = plan
  const out = new Array<number>(size(plan.outShape)).fill(Number.NaN)
  for (const call of plan.calls) {
    for (let i = 0; i < call.m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0
        for (let p = 0; p < k; p++) {
          s += (transposeA ? a[call.a + p * call.m + i] : a[call.a + i * k + p]) * (transposeB ? b[call.b + j * k + p] : b[call.b + p * n + j])
        }
        out[call.c + i * n + j] = s
      }
    }
  }
  return out
}

/** The same product by definition: numpy broadcasting over the batch, one output element at a time. */
const reference = (
  aShape: ReadonlyArray<number>,
  bShape: ReadonlyArray<number>,
  a: ReadonlyArray<number>,
  b: ReadonlyArray<number>,
  transposeA: boolean,
  transposeB: boolean
): { shape: ReadonlyArray<number>; values: Array<number> } => {
  const outBatch = BatchPlan.broadcastShape(aShape.slice(0, -2), bShape.slice(0, -2))!
  const m = transposeA ? aShape[aShape.length - 1] : aShape[aShape.length - 2]
  const k = transposeA ? aShape[aShape.length - 2] : aShape[aShape.length - 1]
  const n = transposeB ? bShape[bShape.length - 2] : bShape[bShape.length - 1]
  const rank = outBatch.length
  const index = (shape: ReadonlyArray<number>, outIndex: ReadonlyArray<number>) => {
    const batch = shape.slice(0, -2)
    let flat = 0
    for (let i = 0; i < batch.length; i++) {
      const d = batch[i]
      flat = flat * d + (d === 1 ? 0 : outIndex[rank - batch.length + i])
    }
    return flat
  }
  const values: Array<number> = []
  for (let o = 0; o < size(outBatch); o++) {
    const outIndex: Array<number> = []
    for (let i = rank - 1, rest = o; i >= 0; i--) {
      outIndex.unshift(rest % outBatch[i])
      rest = Math.floor(rest / outBatch[i])
    }
    const ai = index(aShape, outIndex) * m * k
    const bi = index(bShape, outIndex) * k * n
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0
        for (let p = 0; p < k; p++) s += (transposeA ? a[ai + p * m + i] : a[ai + i * k + p]) * (transposeB ? b[bi + j * k + p] : b[bi + p * n + j])
        values.push(s)
      }
    }
  }
  return { shape: [...outBatch, m, n], values }
}

describe("BatchPlan", () => {
  it("folds a batch against one matrix into rows: one call", () => {
    const plan = BatchPlan.plan([8, 256, 64], [64, 32], false, false)!
    assert.isTrue(plan.folded)
    assert.deepStrictEqual(plan.calls, [{ a: 0, b: 0, c: 0, m: 8 * 256, wholeA: true, wholeB: true, wholeC: true }])
    assert.deepStrictEqual(plan.outShape, [8, 256, 32])
  })

  it("splits a true batch into one call per matrix", () => {
    const plan = BatchPlan.plan([2, 3, 5, 4], [2, 3, 4, 6], false, false)!
    assert.isFalse(plan.folded)
    assert.strictEqual(plan.calls.length, 6)
    assert.deepStrictEqual(plan.calls[5], { a: 5 * 20, b: 5 * 24, c: 5 * 30, m: 5, wholeA: false, wholeB: false, wholeC: false })
  })

  it("does not fold a transposed A (its rows are not contiguous) unless the transpose was materialised", () => {
    assert.isFalse(BatchPlan.plan([4, 3, 5], [3, 2], true, false)!.folded)
    assert.isTrue(BatchPlan.plan([4, 3, 5], [3, 2], true, false, false)!.folded)
  })

  it("refuses shapes that do not multiply", () => {
    assert.isUndefined(BatchPlan.plan([3], [3, 2], false, false))
    assert.isUndefined(BatchPlan.plan([2, 3], [4, 2], false, false))
    assert.isUndefined(BatchPlan.plan([2, 2, 3], [3, 3, 2], false, false))
  })

  const dim = fc.integer({ min: 1, max: 4 })
  const batchDims = fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 })
  test.prop([batchDims, batchDims, dim, dim, dim, fc.boolean(), fc.boolean(), fc.boolean()], { numRuns: 200 })(
    "its calls compute numpy's broadcast matmul exactly, each output element once",
    (batchA, batchB, m, k, n, transposeA, transposeB, materialised) => {
      // Make the batches broadcastable (aligned on the right): where both have a dimension, 1 or equal.
      const bb = batchB.map((d, i) => {
        const da = batchA[batchA.length - batchB.length + i]
        return da === undefined || da === 1 || d === 1 ? d : da
      })
      const aShape = [...batchA, ...(transposeA ? [k, m] : [m, k])]
      const bShape = [...bb, ...(transposeB ? [n, k] : [k, n])]
      const a = Array.from({ length: size(aShape) }, (_, i) => ((i * 7) % 11) - 5)
      const b = Array.from({ length: size(bShape) }, (_, i) => ((i * 5) % 13) - 6)
      // A materialised transpose is stored untransposed: the calls then read it that way.
      const stored = materialised && transposeA ? transposeEach(a, size(batchA), k, m) : a
      const plan = BatchPlan.plan(aShape, bShape, transposeA, transposeB, transposeA && !materialised)
      const want = reference(aShape, bShape, a, b, transposeA, transposeB)
      assert.isDefined(plan)
      assert.deepStrictEqual(plan!.outShape, want.shape)
      assert.deepStrictEqual(execute(plan!, stored, b, transposeA && !materialised, transposeB), want.values)
    }
  )
})

/** Each of `batch` stored r×c matrices transposed (what the kernels' materialised transpose holds). */
const transposeEach = (x: ReadonlyArray<number>, batch: number, r: number, c: number): Array<number> => {
  const out = new Array<number>(x.length)
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[b * r * c + j * r + i] = x[b * r * c + i * c + j]
  }
  return out
}
