import * as tf from "@tensorflow/tfjs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as SimdTranspose from "../../../src/model/backend/SimdTranspose.ts"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"
import * as Wasm from "../../../src/model/backend/WasmInternals.ts"
import { on, quietCpu, relativeError } from "./Reference.ts"

beforeAll(async () => {
  await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 1, matmul: "xnnpack" }, {}))
  await quietCpu()
})

/** Fills rows×cols floats at byte `src` of `memory`, transposes them to byte `dst`, returns [input, output]. */
const roundTrip = (memory: Wasm.Memory, transpose: SimdTranspose.Transpose, rows: number, cols: number, src: number, dst: number) => {
  const input = new Float32Array(memory.buffer, src, rows * cols)
  for (let i = 0; i < input.length; i++) input[i] = i + 0.5
  // a guard float after the output: a store past the end would overwrite it
  const guard = new Float32Array(memory.buffer, dst + 4 * rows * cols, 1)
  guard[0] = -7
  transpose(src, dst, rows, cols)
  return { input, output: new Float32Array(memory.buffer, dst, rows * cols), guard: guard[0] }
}

describe("SimdTranspose (a float32 transpose in wasm SIMD over another module's memory)", () => {
  it("the module validates on this runtime (Node has wasm SIMD)", () => {
    assert.isTrue(Wasm.webAssembly.validate(SimdTranspose.bytes(false)))
    assert.isTrue(Wasm.webAssembly.validate(SimdTranspose.bytes(true)))
  })

  it("transposes any shape at any 4-byte offset, edges included, writing nothing past the output", () => {
    for (const shared of [false, true]) {
      const memory = new Wasm.webAssembly.Memory({ initial: 2, ...(shared ? { maximum: 16, shared: true } : {}) })
      const transpose = SimdTranspose.forMemory(memory)
      if (transpose === undefined) return assert.fail("no SIMD transpose")
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 7 }), (rows, cols, shift) => {
          const src = 4 * shift
          const dst = 4 * (shift + rows * cols + 3)
          const { input, output, guard } = roundTrip(memory, transpose, rows, cols, src, dst)
          for (let i = 0; i < rows; i++) {
            for (let j = 0; j < cols; j++) {
              if (output[j * rows + i] !== input[i * cols + j]) return false
            }
          }
          return guard === -7
        }),
        { seed: 11, numRuns: 300 }
      )
    }
  })

  it("sees the memory after it grows", () => {
    const memory = new Wasm.webAssembly.Memory({ initial: 1 })
    const transpose = SimdTranspose.forMemory(memory)
    if (transpose === undefined) return assert.fail("no SIMD transpose")
    ;(memory as unknown as { grow: (pages: number) => number }).grow(5)
    const { input, output } = roundTrip(memory, transpose, 129, 255, 70000, 70000 + 4 * 129 * 255)
    assert.strictEqual(output[254 * 129 + 128], input[128 * 255 + 254])
    assert.strictEqual(output[1], input[255])
  })

  it("the wasm backend's heap has it, and transposed products on it match cpu", async () => {
    assert.isDefined(SimdTranspose.forMemory(Wasm.memory(Wasm.of(tf.backend()))!))
    const product = () =>
      tf.tidy(() => {
        const x = tf.tensor2d(Array.from({ length: 323 * 130 }, (_, i) => Math.sin(i)), [323, 130])
        const dy = tf.tensor2d(Array.from({ length: 323 * 70 }, (_, i) => Math.cos(i)), [323, 70])
        return tf.concat([tf.matMul(x, dy, true, false).reshape([-1]), tf.matMul(x, x, false, true).reshape([-1])])
      })
    assert.isAtMost(relativeError(await on("wasm", product), await on("cpu", product)), 1e-5)
  })
})
