import { assert, describe, it } from "@effect/vitest"
import { fc, test } from "@fast-check/vitest"
import { BackendError } from "../../../src/model/backend/BackendError.ts"
import * as BackendOptions from "../../../src/model/backend/BackendOptions.ts"

const resolve = (options: BackendOptions.Options, env: Record<string, string> = {}) => BackendOptions.resolve(options, env, 6)

describe("BackendOptions.resolve", () => {
  it("defaults: auto, every core, auto matmul, nothing explicit", () => {
    assert.deepStrictEqual(resolve({}), {
      backend: "auto",
      threads: 6,
      matmul: "auto",
      explicit: { backend: false, threads: false, matmul: false }
    })
  })

  it("takes STEPAGENT_* variables, and a flag wins over its variable", () => {
    const env = { STEPAGENT_BACKEND: "cpu", STEPAGENT_THREADS: "3", STEPAGENT_MATMUL: "stock" }
    assert.deepStrictEqual(resolve({}, env), {
      backend: "cpu",
      threads: 3,
      matmul: "stock",
      explicit: { backend: true, threads: true, matmul: true }
    })
    const flagged = resolve({ backend: "wasm", threads: 1, matmul: "xnnpack" }, env)
    assert.isFalse(flagged instanceof BackendError)
    if (!(flagged instanceof BackendError)) {
      assert.strictEqual(flagged.backend, "wasm")
      assert.strictEqual(flagged.threads, 1)
      assert.strictEqual(flagged.matmul, "xnnpack")
    }
  })

  it("ignores empty variables", () => {
    const r = resolve({}, { STEPAGENT_BACKEND: " ", STEPAGENT_THREADS: "" })
    assert.isFalse(r instanceof BackendError)
    if (!(r instanceof BackendError)) assert.deepStrictEqual([r.backend, r.threads, r.explicit.backend], ["auto", 6, false])
  })

  const failsWith = (r: BackendOptions.Resolved | BackendError, message: string) => {
    assert.isTrue(r instanceof BackendError)
    if (r instanceof BackendError) {
      assert.strictEqual(r.reason, "BadOption")
      assert.strictEqual(r.message, message)
    }
  }

  it("names the variable or flag and what it accepts", () => {
    failsWith(resolve({}, { STEPAGENT_BACKEND: "gpu" }), "STEPAGENT_BACKEND=gpu: expected one of auto|tensorflow-gpu|tensorflow|wasm|cpu")
    failsWith(resolve({}, { STEPAGENT_MATMUL: "blas" }), "STEPAGENT_MATMUL=blas: expected one of auto|openblas|xnnpack|stock")
    failsWith(resolve({}, { STEPAGENT_THREADS: "two" }), "STEPAGENT_THREADS=two: expected a whole number from 1 to 128")
    failsWith(resolve({ threads: 0 }), "--threads 0: expected a whole number from 1 to 128")
  })

  test.prop([fc.string()])("any STEPAGENT_THREADS value either resolves to 1..128 or fails with BadOption", (value) => {
    const r = resolve({}, { STEPAGENT_THREADS: value })
    if (r instanceof BackendError) assert.strictEqual(r.reason, "BadOption")
    else assert.isTrue(Number.isInteger(r.threads) && r.threads >= 1 && r.threads <= 128)
  })
})
