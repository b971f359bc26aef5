import * as tf from "@tensorflow/tfjs"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Backend from "../../../src/model/backend/Backend.ts"
import { BackendError } from "../../../src/model/backend/BackendError.ts"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"

/** The failure of an effect expected to fail with a BackendError. */
const failure = <A>(effect: Effect.Effect<A, BackendError>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    assert.isTrue(Exit.isFailure(exit))
    const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
    assert.isDefined(error)
    return (error as { error: BackendError }).error
  })

// Tests in this file share one process: tfjs starts once (on wasm), as it would in stepagent.
describe("TfjsInit", () => {
  it.effect("a forced backend whose package is missing fails with a one-line Missing error", () =>
    Effect.gen(function*() {
      const tensorflow = yield* failure(TfjsInit.initialise({ backend: "tensorflow" }, {}))
      assert.strictEqual(tensorflow.reason, "Missing")
      // not installed on a fresh clone; installed without its native library where npm kept it without its scripts
      const why = (name: string) => `${name} (is not installed|is installed without its native library \\(its install script did not run; npm rebuild ${name}\\))`
      assert.match(
        tensorflow.message,
        new RegExp(`^--backend tensorflow: ${why("@tensorflow/tfjs-node")}; ${why("@tensorflow/tfjs-node-gpu")} \\(see docs/backends\\.md\\)$`)
      )
      const gpu = yield* failure(TfjsInit.initialise({}, { STEPAGENT_BACKEND: "tensorflow-gpu" }))
      assert.strictEqual(gpu.reason, "Missing")
      assert.notInclude(gpu.message, "\n")
      assert.match(gpu.message, new RegExp(why("@tensorflow/tfjs-node-gpu")))
    }))

  it.effect("Backend.layer starts wasm once and provides what runs; auto then shares it", () =>
    Effect.gen(function*() {
      const info = yield* Effect.provide(Effect.gen(function*() {
        return yield* Backend.Backend
      }), Backend.layer({ backend: "wasm", threads: 1, matmul: "xnnpack" }))
      assert.strictEqual(info.name, "wasm")
      assert.strictEqual(info.tfjs, "wasm")
      assert.strictEqual(info.matmul, "xnnpack")
      assert.deepStrictEqual(info.threads, { requested: 1, wasm: 1, blas: 0, tensorflow: 0 })
      assert.strictEqual(tf.getBackend(), "wasm")
      assert.strictEqual(Backend.describe(info), "tensor backend wasm (matmul xnnpack, 1 wasm thread)")
      const again = yield* TfjsInit.initialise({}, {})
      assert.strictEqual(again, info)
    }))

  it.effect("a request that contradicts the running backend fails with Conflict", () =>
    Effect.gen(function*() {
      const cpu = yield* failure(TfjsInit.initialise({ backend: "cpu" }, {}))
      assert.strictEqual(cpu.reason, "Conflict")
      assert.strictEqual(cpu.message, "--backend cpu: tfjs already runs wasm in this process")
      const threads = yield* failure(TfjsInit.initialise({ threads: 2 }, {}))
      assert.strictEqual(threads.reason, "Conflict")
      const stock = yield* failure(TfjsInit.initialise({}, { STEPAGENT_MATMUL: "stock" }))
      assert.strictEqual(stock.message, "--matmul stock: tfjs already multiplies with xnnpack in this process")
    }))

  it.effect("a forced backend that cannot load says so even after another started (not Conflict)", () =>
    Effect.gen(function*() {
      const error = yield* failure(TfjsInit.initialise({ backend: "tensorflow-gpu" }, {}))
      assert.strictEqual(error.reason, "Missing")
    }))

  it.effect("asking for OpenBLAS while XNNPACK runs fails (Missing where the addon is absent, else Conflict)", () =>
    Effect.gen(function*() {
      const error = yield* failure(TfjsInit.initialise({ matmul: "openblas" }, {}))
      assert.include(["Missing", "Conflict"], error.reason)
    }))
})
