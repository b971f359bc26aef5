import * as tf from "@tensorflow/tfjs"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as MatmulKernels from "../../../src/model/backend/MatmulKernels.ts"
import * as OpenBlas from "../../../src/model/backend/OpenBlas.ts"
import * as OpenBlasSum from "../../../src/model/backend/OpenBlasSum.ts"
import * as TfjsInit from "../../../src/model/backend/TfjsInit.ts"
import * as Optimizer from "../../../src/model/Optimizer.ts"
import * as Preset from "../../../src/model/Preset.ts"
import * as Transformer from "../../../src/model/Transformer.ts"
import { quietCpu } from "./Reference.ts"

/**
 * The whole model on OpenBLAS: its gradients against the cpu backend, and a seeded training run whose loss curve
 * must read the same to 4 decimals on every matmul path (openblas, xnnpack, stock). Skipped where the addon is not
 * built.
 */
const built = typeof OpenBlas.loadAddon() !== "string"

/** A small GPT: every kind of matmul the model makes (projections, attention, tied head, value head), in under a second. */
const config = Preset.config("tiny", { vocabSize: 67, contextLength: 24, dModel: 32, layers: 2, heads: 4 })
const [B, T] = [3, 21] // odd sizes: no path gets a lucky tile

/** Seeded tokens (B, T) and next-token targets (B*T), and value targets (B*T). */
const data = () => {
  const ids = Int32Array.from({ length: B * (T + 1) }, (_, i) => (i * 7919 + 13) % config.vocabSize)
  const tokens = Int32Array.from({ length: B * T }, (_, i) => ids[Math.floor(i / T) * (T + 1) + (i % T)])
  const targets = Int32Array.from({ length: B * T }, (_, i) => ids[Math.floor(i / T) * (T + 1) + (i % T) + 1])
  const returns = Float32Array.from({ length: B * T }, (_, i) => Math.sin(i * 0.37))
  return { tokens, targets, returns }
}

/** Next-token cross-entropy plus the value head's squared error: every weight gets a gradient. */
const loss = (m: Transformer.Model, d: ReturnType<typeof data>) => (): tf.Scalar => {
  const hidden = Transformer.forward(m, tf.tensor2d(d.tokens, [B, T], "int32")).hidden // (B*T, C)
  const logp = tf.logSoftmax(Transformer.logits(m, hidden)) // (B*T, V)
  const nll = tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(d.targets, "int32"), config.vocabSize), logp), -1)))
  const value = tf.mean(tf.square(tf.sub(Transformer.value(m, hidden), tf.tensor1d(d.returns))))
  return tf.add(nll, tf.mul(value, 0.5)) as tf.Scalar
}

/** Every weight's gradient on the current backend, by name. */
const gradients = (m: Transformer.Model): Map<string, Float32Array> => {
  const names = new Map(Transformer.named(m.weights).map(([n, v]) => [v.name, n] as const))
  const { grads, value } = tf.variableGrads(loss(m, data()))
  const out = new Map<string, Float32Array>()
  for (const [id, g] of Object.entries(grads)) {
    out.set(names.get(id) ?? id, g.dataSync() as Float32Array)
    g.dispose()
  }
  value.dispose()
  return out
}

/** The losses of `steps` seeded Adam steps from seeded weights. */
const lossCurve = (steps: number): Array<number> => {
  const m = Transformer.init(config, 17)
  const opt = Optimizer.make(Transformer.named(m.weights), { learningRate: 3e-3 }) // large enough that the curve moves
  const d = data()
  const curve = Array.from({ length: steps }, () => Optimizer.minimize(opt, loss(m, d)).loss)
  Optimizer.dispose(opt)
  Transformer.dispose(m)
  return curve
}

describe.skipIf(!built)("a small GPT on OpenBLAS", () => {
  let gemm: MatmulKernels.Gemm | undefined
  const addon = OpenBlas.loadAddon()

  beforeAll(async () => {
    const info = await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 2, matmul: "openblas" }, {}))
    assert.strictEqual(info.matmul, "openblas")
    const loaded = await OpenBlas.load(2)
    if (typeof loaded === "string") throw new Error(loaded)
    gemm = loaded
    await quietCpu()
  })

  it("has the cpu backend's gradients for every weight", async () => {
    await tf.setBackend("wasm")
    const m = Transformer.init(config, 5)
    const got = gradients(m)
    await tf.setBackend("cpu")
    const want = gradients(m)
    await tf.setBackend("wasm")
    Transformer.dispose(m)
    assert.strictEqual(got.size, Transformer.named(m.weights).length)
    // The key biases' true gradient is 0 (softmax ignores a shift shared by a query's scores): both sides hold
    // rounding noise there, so each weight's error is taken relative to its own scale or, when that is tiny, to a
    // thousandth of the largest gradient's.
    const largest = Math.max(...[...want.values()].map((g) => g.reduce((m, x) => Math.max(m, Math.abs(x)), 0)))
    const errors = [...want].map(([name, g]) => {
      const scale = Math.max(g.reduce((m, x) => Math.max(m, Math.abs(x)), 0), 1e-3 * largest)
      const mine = got.get(name) ?? new Float32Array(0)
      const diff = mine.length === g.length ? g.reduce((m, x, i) => Math.max(m, Math.abs(x - mine[i])), 0) : Infinity
      return [name, diff / scale] as const
    })
    // float32 through 2 layers, softmax and LayerNorm, summed in another order: ~5e-7 measured; 1e-4 is the brief's bound
    assert.deepStrictEqual(errors.filter(([, e]) => !(e <= 1e-4)), [])
  })

  it("trains to the same loss curve, to 4 decimals, on openblas, xnnpack and stock matmuls", async () => {
    await tf.setBackend("wasm")
    const steps = 6
    const curves: Record<MatmulKernels.MatmulPath, Array<number>> = { openblas: [], xnnpack: [], stock: [] }
    try {
      curves.openblas = lossCurve(steps)
      OpenBlasSum.uninstall() // the other paths as they run without the addon: stock Sum too
      MatmulKernels.unregister()
      assert.strictEqual(MatmulKernels.path(), "xnnpack")
      assert.isFalse(OpenBlasSum.installed())
      curves.xnnpack = lossCurve(steps)
      MatmulKernels.uninstall()
      assert.strictEqual(MatmulKernels.path(), "stock")
      curves.stock = lossCurve(steps)
    } finally {
      MatmulKernels.install()
      if (gemm !== undefined) MatmulKernels.register(gemm)
      if (typeof addon !== "string") OpenBlasSum.install(addon)
    }
    assert.isTrue(OpenBlasSum.installed())
    assert.strictEqual(MatmulKernels.path(), "openblas")
    assert.isBelow(curves.openblas[steps - 1], curves.openblas[0] - 0.05) // it does train
    const fixed = (c: Array<number>) => c.map((x) => x.toFixed(4))
    assert.deepStrictEqual(fixed(curves.xnnpack), fixed(curves.openblas))
    assert.deepStrictEqual(fixed(curves.stock), fixed(curves.openblas))
  })
})
