import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as ActionBatch from "../../src/model/ActionBatch.ts"
import * as Gelu from "../../src/model/Gelu.ts"
import * as LayerNorm from "../../src/model/LayerNorm.ts"
import * as Policy from "../../src/model/Policy.ts"
import * as Preset from "../../src/model/Preset.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Fixtures from "./Fixtures.ts"

beforeAll(Fixtures.cpu)

describe("Preset", () => {
  it("sizes the presets at ~0.1M, ~1M and ~10M parameters", () => {
    const n = (p: Preset.Name) => Transformer.parameterCount(Preset.config(p))
    expect(n("tiny")).toBeGreaterThan(50_000)
    expect(n("tiny")).toBeLessThan(200_000)
    expect(n("small")).toBeGreaterThan(700_000)
    expect(n("small")).toBeLessThan(1_500_000)
    expect(n("base")).toBeGreaterThan(7_000_000)
    expect(n("base")).toBeLessThan(14_000_000)
  })
  it("applies overrides and keeps the rest", () => {
    const c = Preset.config("small", { layers: 2, tieEmbeddings: false })
    expect(c.layers).toBe(2)
    expect(c.tieEmbeddings).toBe(false)
    expect(c.dModel).toBe(Preset.config("small").dModel)
  })
  it("counts what init allocates, tied or not", () => {
    for (const tie of [true, false]) {
      const m = Transformer.init(Fixtures.tinyConfig({ tieEmbeddings: tie }), 0)
      const allocated = Transformer.named(m.weights).reduce((s, [, v]) => s + v.size, 0)
      expect(allocated).toBe(Transformer.parameterCount(m.config))
      Transformer.dispose(m)
    }
  })
})

describe("Transformer.init", () => {
  it("gives the same weights for the same seed and different ones for another", () => {
    const c = Fixtures.tinyConfig()
    const [a, b, d] = [Transformer.init(c, 7), Transformer.init(c, 7), Transformer.init(c, 8)]
    const flat = (m: Transformer.Model) => Transformer.named(m.weights).map(([, v]) => Array.from(v.dataSync())).flat()
    expect(flat(a)).toEqual(flat(b))
    expect(flat(a)).not.toEqual(flat(d))
    for (const m of [a, b, d]) Transformer.dispose(m)
  })
  it("rejects a width the heads do not divide", () => {
    expect(() => Transformer.init(Fixtures.tinyConfig({ dModel: 30, heads: 4 }), 0)).toThrow(/multiple of heads/)
  })
  it("frozen copies are not trainable and do not follow later updates", () => {
    const m = Transformer.init(Fixtures.tinyConfig(), 1)
    const ref = Transformer.freeze(m)
    expect(Transformer.named(ref.weights).every(([, v]) => !v.trainable)).toBe(true)
    const before = Array.from(ref.weights.valueBias.dataSync())
    m.weights.valueBias.assign(tf.tensor1d([5]))
    expect(Array.from(ref.weights.valueBias.dataSync())).toEqual(before)
    Transformer.dispose(m)
    Transformer.dispose(ref)
  })
})

describe("Transformer.forward", () => {
  it("is causal: changing a later token leaves earlier outputs unchanged", () => {
    const m = Transformer.init(Fixtures.tinyConfig(), 2)
    const run = (toks: Array<number>) => tf.tidy(() => Transformer.forward(m, tf.tensor2d([toks], [1, toks.length], "int32")).hidden).arraySync()
    const a = run([1, 10, 20, 30, 40])
    const b = run([1, 10, 20, 30, 99])
    for (let p = 0; p < 4; p++) for (let c = 0; c < 32; c++) expect(a[p]![c]).toBeCloseTo(b[p]![c]!, 6)
    expect(a[4]).not.toEqual(b[4])
    Transformer.dispose(m)
  })
  it("attention in query blocks equals one block (values and gradients), causal and with packed-tree masks", () => {
    const r = Rng.make(17)
    const rand = () => Rng.uniform(r)
    for (const T of [60, 300, 430]) { // 1, 2 and 3 blocks of attentionBlockRows (170)
      const [B, H, D] = [2, 2, 4]
      const normal = (shape: Array<number>) => tf.tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1), shape)
      const q = normal([B, H, T, D]) as tf.Tensor4D
      const kT = normal([B, H, D, T]) as tf.Tensor4D
      const v = normal([B, H, T, D]) as tf.Tensor4D
      const w = normal([B, H, T, D])
      // a tree in packed order: each row attends to itself and to earlier rows (a random half of them)
      const tree = new Float32Array(B * T * T).fill(-1e9)
      for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) if (j === i || rand() < 0.5) tree[(b * T + i) * T + j] = 0
      const mask = tf.tensor4d(tree, [B, 1, T, T])
      for (const m of [undefined, mask]) {
        const run = (rows: number) => tf.grads((q: tf.Tensor, k: tf.Tensor, x: tf.Tensor) =>
          tf.sum(tf.mul(Transformer.attention(q as tf.Tensor4D, k as tf.Tensor4D, x as tf.Tensor4D, Transformer.attentionBlocks(T, m, rows)), w)))([q, kT, v])
        const blocked = run(Transformer.attentionBlockRows)
        const whole = run(Infinity)
        blocked.forEach((g, i) => {
          const a = g.dataSync()
          const e = whole[i]!.dataSync()
          const scale = Math.max(...Array.from(e, Math.abs))
          for (let k = 0; k < e.length; k++) expect(Math.abs(a[k]! - e[k]!) / scale).toBeLessThan(1e-5)
        })
        const out = (rows: number) => Transformer.attention(q, kT, v, Transformer.attentionBlocks(T, m, rows)).dataSync()
        const [a, e] = [out(Transformer.attentionBlockRows), out(Infinity)]
        for (let k = 0; k < e.length; k++) expect(a[k]).toBeCloseTo(e[k]!, 5)
        tf.dispose([...blocked, ...whole])
      }
      tf.dispose([q, kT, v, w, mask])
    }
  })
  it("plain sequences and the same sequences under an explicit causal layout give the same hidden states and gradients", () => {
    // 1, 2 and 3 query blocks (attentionBlockRows 170) of the causal mask and of the layout's mask
    for (const T of [60, 260, 430]) {
      const m = Transformer.init(Fixtures.tinyConfig({ dModel: 16, heads: 2, layers: 1, contextLength: 430 }), 3)
      const toks = Array.from({ length: T }, (_, i) => (i * 37 + 11) % 200)
      const tokens = tf.tensor2d(toks, [1, T], "int32")
      const mask = new Float32Array(T * T)
      for (let i = 0; i < T; i++) mask.fill(-1e9, i * T + i + 1, (i + 1) * T)
      const layout: Transformer.Layout = {
        positions: tf.range(0, T, 1, "int32"),
        mask: tf.tensor4d(mask, [1, 1, T, T])
      }
      const vars = Transformer.named(m.weights).map(([, v]) => v)
      const loss = (l?: Transformer.Layout) => () => tf.tidy(() => {
        const h = Transformer.forward(m, tokens, l).hidden // (T, C)
        return tf.mean(tf.mul(h, tf.sin(tf.range(0, h.size).reshape(h.shape)))) as tf.Scalar
      })
      const blocked = tf.variableGrads(loss(), vars)
      const full = tf.variableGrads(loss(layout), vars)
      expect(blocked.value.dataSync()[0]).toBeCloseTo(full.value.dataSync()[0]!, 6)
      for (const [name, g] of Object.entries(full.grads)) {
        const a = blocked.grads[name]!.dataSync()
        const b = g.dataSync()
        const scale = Math.max(1e-6, ...Array.from(b, Math.abs))
        for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!) / scale).toBeLessThan(1e-4)
      }
      tf.dispose([tokens, layout.positions, layout.mask, blocked.value, full.value, ...Object.values(blocked.grads), ...Object.values(full.grads)])
      Transformer.dispose(m)
    }
  })
})

describe("LayerNorm", () => {
  it("its hand-written gradient equals autodiff of the formula", () => {
    const x = tf.randomNormal([5, 8], 0, 2, "float32", 1) as tf.Tensor2D
    const g = tf.randomNormal([8], 1, 0.3, "float32", 2) as tf.Tensor1D
    const b = tf.randomNormal([8], 0, 0.3, "float32", 3) as tf.Tensor1D
    const w = tf.randomNormal([5, 8], 0, 1, "float32", 4)
    const reference = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const mean = tf.mean(x, -1, true)
      const xc = tf.sub(x, mean)
      return tf.add(tf.mul(tf.div(xc, tf.sqrt(tf.add(tf.mean(tf.square(xc), -1, true), 1e-5))), g), b)
    }
    const f1 = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(LayerNorm.layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5), w))
    const f2 = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(reference(x, g, b), w))
    const g1 = tf.grads(f1)([x, g, b])
    const g2 = tf.grads(f2)([x, g, b])
    expect(f1(x, g, b).dataSync()[0]).toBeCloseTo(f2(x, g, b).dataSync()[0]!, 4)
    g1.forEach((t, i) => {
      const a = t.dataSync()
      const e = g2[i]!.dataSync()
      for (let k = 0; k < a.length; k++) expect(a[k]).toBeCloseTo(e[k]!, 4)
    })
  })
})

describe("GELU", () => {
  it("its hand-written gradient equals autodiff of the formula, and its value the inference form's", () => {
    const x = tf.randomNormal([6, 16], 0, 2, "float32", 5) as tf.Tensor2D
    const w = tf.randomNormal([6, 16], 0, 1, "float32", 6)
    const formula = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI)))))
    const f1 = (x: tf.Tensor) => tf.sum(tf.mul(Gelu.gelu(x as tf.Tensor2D), w))
    const f2 = (x: tf.Tensor) => tf.sum(tf.mul(formula(x), w))
    expect(f1(x).dataSync()[0]).toBeCloseTo(f2(x).dataSync()[0]!, 3)
    const a = tf.grad(f1)(x).dataSync()
    const e = tf.grad(f2)(x).dataSync()
    for (let k = 0; k < a.length; k++) expect(a[k]).toBeCloseTo(e[k]!, 4)
    const v1 = Gelu.gelu(x).dataSync()
    const v2 = Gelu.geluInference(x).dataSync()
    for (let k = 0; k < v1.length; k++) expect(v1[k]).toBe(v2[k])
  })
})

describe("gradients", () => {
  it("match central finite differences on a tiny model (SFT log-likelihood and value loss)", () => {
    const c = Fixtures.tinyConfig({ dModel: 16, heads: 2, layers: 1, contextLength: 64 })
    const m = Transformer.init(c, 3)
    const trajs = [Fixtures.trajectory(11, 3), Fixtures.trajectory(12, 2)]
    // every expert action of each whole trajectory, as SFT trains
    const batch = ActionBatch.build(trajs.map((t) => ({
      parts: [t.tokens],
      actions: Array.from({ length: Tokenized.stepCount(t) }, (_, i) => [Tokenized.actStart(t, i), Tokenized.actEnd(t, i)] as const)
    })))
    const loss = (): tf.Scalar => tf.tidy(() => {
      const o = Policy.outputs(m, ActionBatch.tensors(batch))
      return tf.add(tf.neg(tf.div(tf.sum(o.logp), tf.sum(o.mask))), tf.mul(0.5, tf.mean(tf.square(tf.sub(o.values, 0.7)))))
    })
    const named = Transformer.named(m.weights)
    const { grads } = tf.variableGrads(loss, named.map(([, v]) => v))
    const lossAt = () => {
      const l = loss()
      const x = l.dataSync()[0]!
      l.dispose()
      return x
    }
    const h = 5e-3 // small enough that the truncation error stays inside the tolerance at a curved entry (a position embedding's)
    let checked = 0
    for (const name of ["tokenEmbedding", "positionEmbedding", "h0.wq", "h0.wk", "h0.bv", "h0.wo", "h0.ln1Gain", "h0.w1", "h0.b2", "lnfGain", "lnfBias", "valueWeight", "valueBias"]) {
      const v = named.find(([n]) => n === name)![1]
      const g = grads[v.name]!.dataSync()
      // the largest gradient entry: finite differences in float32 are meaningful there
      let k = 0
      for (let i = 1; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[k]!)) k = i
      const base = v.dataSync().slice() as Float32Array
      const at = (delta: number) => {
        const d = base.slice()
        d[k] = d[k]! + delta
        tf.tidy(() => v.assign(tf.tensor(d, v.shape)))
        return lossAt()
      }
      const fd = (at(h) - at(-h)) / (2 * h)
      tf.tidy(() => v.assign(tf.tensor(base, v.shape)))
      expect(Math.abs(fd - g[k]!), `${name}[${k}]: analytic ${g[k]}, numeric ${fd}`).toBeLessThan(1e-2 * Math.abs(g[k]!) + 2e-4)
      checked++
    }
    expect(checked).toBe(13)
    Object.values(grads).forEach((t) => t.dispose())
    Transformer.dispose(m)
  })
})

describe("Policy.outputs on action tokens only", () => {
  it("computes the heads at the action tokens alone: each row's log-probs equal the row's alone, 0 on padding; a batch without action tokens gives zeros", () => {
    const c = Fixtures.tinyConfig({ dModel: 16, heads: 2, layers: 1, contextLength: 64, copyHead: true, copyMatch: true })
    const m = Transformer.init(c, 5)
    const t = Fixtures.trajectory(21, 3)
    const spans = Array.from({ length: Tokenized.stepCount(t) }, (_, i) => [Tokenized.actStart(t, i), Tokenized.actEnd(t, i)] as const)
    const logp = (actions: ReadonlyArray<readonly [number, number]>) =>
      tf.tidy(() => Policy.outputs(m, ActionBatch.tensors(ActionBatch.build([{ parts: [t.tokens], actions }]), true)).logp).arraySync() as Array<Array<number>>
    const all = logp(spans)
    spans.forEach((span, r) => {
      const alone = logp([span])[0]!
      const n = span[1] - span[0]
      all[r]!.forEach((x, j) => j < n ? expect(x).toBeCloseTo(alone[j]!, 5) : expect(x).toBe(0))
      expect(all[r]!.slice(0, n).every((x) => x < 0)).toBe(true)
    })
    const at = spans[0]![0]
    expect(logp([[at, at]])).toEqual([[0]])
    Transformer.dispose(m)
  })
})
