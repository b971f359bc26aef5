import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import * as Optimizer from "../../src/model/Optimizer.ts"
import * as Fixtures from "./Fixtures.ts"

beforeAll(Fixtures.cpu)

describe("Optimizer.learningRate", () => {
  const c = { ...Optimizer.defaults, learningRate: 1, warmupSteps: 10, totalSteps: 110, minLearningRateRatio: 0.1 }
  it("warms up linearly", () => {
    expect(Optimizer.learningRate(c, 1)).toBeCloseTo(0.1, 9)
    expect(Optimizer.learningRate(c, 5)).toBeCloseTo(0.5, 9)
    expect(Optimizer.learningRate(c, 10)).toBeCloseTo(1, 9)
  })
  it("decays by a cosine to the floor, then stays there", () => {
    expect(Optimizer.learningRate(c, 60)).toBeCloseTo(0.1 + 0.9 * 0.5, 9)
    expect(Optimizer.learningRate(c, 110)).toBeCloseTo(0.1, 9)
    expect(Optimizer.learningRate(c, 500)).toBeCloseTo(0.1, 9)
  })
  it("decays linearly with the linear schedule; constant without a horizon", () => {
    expect(Optimizer.learningRate({ ...c, schedule: "linear" }, 60)).toBeCloseTo(0.55, 9)
    expect(Optimizer.learningRate({ ...c, totalSteps: 0 }, 1000)).toBe(1)
  })
})

describe("Optimizer.minimize", () => {
  it("takes Adam's steps (hand-computed) on a quadratic", () => {
    // f(x) = sum(x^2): g = 2x. Step 1: m = 0.1 g, v = 0.001 g^2, mhat = g, vhat = g^2 -> x -= lr * sign(g)
    const x = tf.variable(tf.tensor1d([1, -2]))
    const opt = Optimizer.make([["x", x]], { learningRate: 0.1, clipNorm: 0 })
    const r = Optimizer.minimize(opt, () => tf.sum(tf.square(x)))
    expect(r.loss).toBeCloseTo(5, 5)
    expect(r.gradNorm).toBeCloseTo(Math.sqrt(4 + 16), 4)
    const after1 = Array.from(x.dataSync())
    expect(after1[0]).toBeCloseTo(0.9, 5)
    expect(after1[1]).toBeCloseTo(-1.9, 5)
    // step 2 by hand
    const g1 = [2, -4]
    const g2 = after1.map((v) => 2 * v)
    const expected = after1.map((v, i) => {
      const m = 0.9 * 0.1 * g1[i]! + 0.1 * g2[i]!
      const s = 0.999 * 0.001 * g1[i]! ** 2 + 0.001 * g2[i]! ** 2
      return v - 0.1 * (m / (1 - 0.81)) / (Math.sqrt(s / (1 - 0.999 ** 2)) + 1e-8)
    })
    Optimizer.minimize(opt, () => tf.sum(tf.square(x)))
    const after2 = Array.from(x.dataSync())
    expect(after2[0]).toBeCloseTo(expected[0]!, 5)
    expect(after2[1]).toBeCloseTo(expected[1]!, 5)
    expect(opt.step).toBe(2)
    Optimizer.dispose(opt)
    x.dispose()
  })
  it("clips the global gradient norm", () => {
    const x = tf.variable(tf.tensor1d([3, 4]))
    const opt = Optimizer.make([["x", x]], { learningRate: 1, clipNorm: 1, beta1: 0, beta2: 0, epsilon: 0 })
    // with beta1 = beta2 = 0 the step is g / |g| elementwise: clipping changes nothing there, so check the moments
    const r = Optimizer.minimize(opt, () => tf.sum(tf.mul(x, tf.tensor1d([30, 40]))))
    expect(r.gradNorm).toBeCloseTo(50, 3)
    const m = Array.from(opt.slots[0]!.m.dataSync())
    expect(m[0]).toBeCloseTo(0.6, 5)
    expect(m[1]).toBeCloseTo(0.8, 5)
    Optimizer.dispose(opt)
    x.dispose()
  })
  it("averages gradients over micro-batches and leaves untouched variables alone", () => {
    const x = tf.variable(tf.scalar(0))
    const y = tf.variable(tf.scalar(5))
    const opt = Optimizer.make([["x", x], ["y", y]], { learningRate: 1, clipNorm: 0, beta1: 0, beta2: 0, epsilon: 0 })
    const r = Optimizer.minimize(opt, [() => tf.mul(x, 2), () => tf.mul(x, 4)])
    expect(r.loss).toBe(0)
    expect(Array.from(opt.slots[0]!.m.dataSync())).toEqual([3])
    expect(y.dataSync()[0]).toBe(5)
    Optimizer.dispose(opt)
    x.dispose()
    y.dispose()
  })
})

describe("the host update (wasm, cpu)", () => {
  it("agrees with the tensor-op update: averaging over 3 passes, a variable no pass reaches, clipping, weight decay, several steps", () => {
    const start = [Float32Array.from([0.5, -1, 2, 0.25]), Float32Array.from([3, -4]), Float32Array.from([7])]
    const shapes = [[2, 2], [2], [1]]
    const make = () => Optimizer.make(start.map((d, i) => [`v${i}`, tf.variable(tf.tensor(d, shapes[i]))] as const), {
      learningRate: 0.05,
      clipNorm: 1,
      weightDecay: 0.1,
      warmupSteps: 2,
      totalSteps: 6
    })
    const host = make()
    const ops = make()
    // pass p's gradients at step s: deterministic, large enough that clipping acts; v2 is never reached
    const grads = (s: number) => [0, 1, 2].map((p) => ({
      value: s + p,
      grads: [Float32Array.from([1, -2, 0.5, 3].map((x) => x * (s + 1) + p)), Float32Array.from([p - 1, s * 0.3]), null]
    }))
    for (let s = 0; s < 6; s++) {
      expect(Optimizer.hostMaths()).toBe(true)
      const a = Optimizer.applyArrays(host, grads(s))
      const b = Optimizer.applyTensors(ops, 3, (p) => {
        const g = grads(s)[p]!
        return { value: tf.scalar(g.value), grads: g.grads.map((x, k) => x === null ? undefined : tf.tensor(x, shapes[k])) }
      })
      expect(a.loss).toBeCloseTo(b.loss, 5)
      expect(a.gradNorm).toBeCloseTo(b.gradNorm, 4)
      expect(a.learningRate).toBe(b.learningRate)
    }
    host.slots.forEach((s, k) => {
      const o = ops.slots[k]!
      for (const [x, y] of [[s.variable, o.variable], [s.m, o.m], [s.v, o.v]] as const) {
        const xs = x.dataSync()
        const ys = y.dataSync()
        xs.forEach((v, i) => expect(Math.abs(v - ys[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(ys[i]!))))
      }
    })
    expect(Array.from(host.slots[2]!.variable.dataSync())).toEqual([7])
    for (const o of [host, ops]) {
      for (const s of o.slots) s.variable.dispose()
      Optimizer.dispose(o)
    }
  })
})
