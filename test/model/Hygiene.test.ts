import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as Optimizer from "../../src/model/Optimizer.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Sample from "../../src/model/Sample.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Fixtures from "./Fixtures.ts"

beforeAll(Fixtures.wasm)

describe("tensor hygiene", () => {
  it("200 training and sampling steps leave tf.memory().numTensors where it started", () => {
    const start = tf.memory().numTensors
    const m = Transformer.init(Fixtures.tinyConfig({ dModel: 16, heads: 2, layers: 1 }), 1)
    const ref = Transformer.freeze(m)
    const opt = Optimizer.make(Transformer.named(m.weights), { learningRate: 1e-3, warmupSteps: 5, totalSteps: 200 })
    const rng = Rng.make(2)
    const trajs = [Fixtures.trajectory(60, 2), Fixtures.trajectory(61, 2)]
    const reqs = trajs.flatMap((t) => Array.from({ length: Tokenized.stepCount(t) }, (_, step) => ({ trajectory: t, step })))
    const afterSetup = tf.memory().numTensors
    let firstLoss = 0
    let lastLoss = 0
    for (let i = 0; i < 200; i++) {
      const r = Optimizer.minimize(opt, Fixtures.sftLoss(m, trajs))
      if (i === 0) firstLoss = r.loss
      lastLoss = r.loss
      const s = Sample.states(m, [reqs[i % reqs.length]!], 2, rng, { maxTokens: 3 })
      Score.segments(ref, [{ ...reqs[i % reqs.length]!, action: s.tokens.slice(0, s.lengths[0]!) }])
      if (i % 50 === 0) expect(tf.memory().numTensors).toBe(afterSetup)
    }
    expect(lastLoss).toBeLessThan(firstLoss)
    Optimizer.dispose(opt)
    Transformer.dispose(m)
    Transformer.dispose(ref)
    expect(tf.memory().numTensors).toBe(start)
  })
})
