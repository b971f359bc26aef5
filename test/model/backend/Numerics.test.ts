import { assert, describe, it } from "@effect/vitest"
import { numerics } from "../../../src/model/backend/Backend.ts"

describe("Backend.numerics (what a resume compares)", () => {
  it("leaves out XNNPACK's thread counts, keeps OpenBLAS's and the matmul path, and keeps everything else whole", () => {
    const one = numerics("tensor backend wasm (matmul openblas, wasm 1 thread + OpenBLAS 1 threads)")
    // OpenBLAS's one-thread and threaded drivers block the summed dimension differently
    assert.notStrictEqual(one, numerics("tensor backend wasm (matmul openblas, wasm 1 thread + OpenBLAS 2 threads)"))
    assert.strictEqual(one, numerics("tensor backend wasm (matmul openblas, wasm 1 thread + OpenBLAS 1 threads)"))
    assert.strictEqual(numerics("tensor backend wasm (matmul xnnpack, 1 wasm thread)"), numerics("tensor backend wasm (matmul xnnpack, 2 wasm threads)"))
    assert.notStrictEqual(one, numerics("tensor backend wasm (matmul xnnpack, 1 wasm thread)"))
    // TensorFlow's threads may split a reduction: another count is another computation
    assert.notStrictEqual(numerics("tensor backend tensorflow (matmul stock, 1 TensorFlow threads)"), numerics("tensor backend tensorflow (matmul stock, 2 TensorFlow threads)"))
    assert.notStrictEqual(numerics("tensor backend cpu (matmul stock, 1 JS thread)"), one)
  })
})
