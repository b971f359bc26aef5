/**
 * Benchmark `model`: the `small` preset on the best backend of the machine (the Backend service's `auto`).
 * Training, scoring and sampling throughput, per-token sampling cost at context 64 and at full context, and
 * the speed-up of one-pass trajectory scoring over per-segment scoring on 10-step trajectories.
 * Targets: onePassSpeedup >= 5; sampling cost per token at full context <= 2x its cost at context 64.
 */
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as TfjsInit from "../../src/model/backend/TfjsInit.ts"
import * as Optimizer from "../../src/model/Optimizer.ts"
import * as Preset from "../../src/model/Preset.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Sample from "../../src/model/Sample.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Fixtures from "../model/Fixtures.ts"

const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Median wall seconds of `f` over `runs` runs after one warm-up (runs 0: one run, no warm-up). */
const time = (runs: number, f: () => void): number => {
  if (runs > 0) f()
  return median(Array.from({ length: Math.max(1, runs) }, () => {
    const t0 = performance.now()
    f()
    return (performance.now() - t0) / 1000
  }))
}

const round = (x: number, digits = 3): number => Number(x.toPrecision(digits))

const model = async (): Promise<unknown> => {
  const info = await Effect.runPromise(TfjsInit.initialise({}, {}))
  const config = Preset.config("small")
  const m = Transformer.init(config, 1)
  // 10-step trajectories that fill most of the context: 21 + 10 * (1 + 30 + 1 + 12 + 1) = 471 tokens
  const trajs = Array.from({ length: 8 }, (_, i) => Fixtures.trajectory(100 + i, 10, { instruction: 20, observation: 30, action: 12 }))
  const trajTokens = trajs.reduce((n, t) => n + Tokenized.actEnd(t, 9), 0)
  const requests = trajs.flatMap((t) => Array.from({ length: 10 }, (_, step) => ({ trajectory: t, step })))

  // training: one SFT step (forward, backward, Adam) on 4 whole trajectories
  const opt = Optimizer.make(Transformer.named(m.weights), { learningRate: 1e-4 })
  const trainBatch = trajs.slice(0, 4)
  const trainTokens = trainBatch.reduce((n, t) => n + Tokenized.actEnd(t, 9), 0)
  const trainSeconds = time(3, () => Optimizer.minimize(opt, Fixtures.sftLoss(m, trainBatch)))

  // scoring: one pass per trajectory, and one pass per segment (interleaved runs: load drifts hit both alike)
  Score.trajectories(m, trajs)
  Score.segments(m, requests)
  const onePassRuns: Array<number> = []
  const perSegmentRuns: Array<number> = []
  for (let i = 0; i < 5; i++) {
    onePassRuns.push(time(0, () => Score.trajectories(m, trajs)))
    perSegmentRuns.push(time(0, () => Score.segments(m, requests)))
  }
  const onePassSeconds = median(onePassRuns)
  const perSegmentSeconds = median(perSegmentRuns)

  // sampling: 16 rows, 32 tokens each (no early stop), prompts of 64 - 32 and of 512 - 32 tokens
  const rows = 16
  const newTokens = 32
  const samplePrompt = (promptLength: number) => {
    const prefix = [Int32Array.from({ length: promptLength }, (_, i) => 5 + ((i * 7919) % 256))]
    const prompts = Array.from({ length: rows }, () => ({ prefix: 0, length: promptLength }))
    return time(3, () => Sample.sample(m, [prefix], prompts, Rng.make(1), { maxTokens: newTokens, stop: -1 }))
  }
  const prefill = (promptLength: number) => {
    const prefix = [Int32Array.from({ length: promptLength }, (_, i) => 5 + ((i * 7919) % 256))]
    const prompts = Array.from({ length: rows }, () => ({ prefix: 0, length: promptLength }))
    return time(3, () => Sample.sample(m, [prefix], prompts, Rng.make(1), { maxTokens: 1, stop: -1 }))
  }
  // per-token cost = (time for 32 tokens - time for the prefill and first token) / 31
  const perToken = (promptLength: number) => (samplePrompt(promptLength) - prefill(promptLength)) / (newTokens - 1)
  const ctx64 = perToken(64 - newTokens)
  const ctxFull = perToken(config.contextLength - newTokens)
  // sampling at the 80 expert states of the 8 trajectories, sharing each trajectory's prefill
  const statesSeconds = time(1, () => Sample.states(m, requests, 1, Rng.make(2), { maxTokens: 16, stop: -1 }))
  // the KV cache against a full forward pass per token: 16 rows, 8 tokens at full context
  const full = [Int32Array.from({ length: config.contextLength - 8 }, (_, i) => 5 + ((i * 7919) % 256))]
  const fullPrompts = Array.from({ length: rows }, () => ({ prefix: 0, length: config.contextLength - 8 }))
  const cachedSeconds = time(1, () => Sample.sample(m, [full], fullPrompts, Rng.make(3), { maxTokens: 8, stop: -1 }))
  const uncachedSeconds = time(1, () => Sample.sampleUncached(m, [full], fullPrompts, Rng.make(3), { maxTokens: 8, stop: -1 }))

  const memory = tf.memory().numTensors
  Optimizer.dispose(opt)
  Transformer.dispose(m)
  const onePassSpeedup = perSegmentSeconds / onePassSeconds
  const costRatio = ctxFull / ctx64
  return {
    backend: Backend.describe(info),
    preset: "small",
    parameters: Transformer.parameterCount(config),
    contextLength: config.contextLength,
    onePassSpeedup: round(onePassSpeedup),
    sampleTokensPerSecond: { ctx64: round(rows / ctx64), ctxFull: round(rows / ctxFull) },
    trainTokensPerSecond: round(trainTokens / trainSeconds),
    scoreTokensPerSecond: round(trajTokens / onePassSeconds),
    sampleCostRatioFullTo64: round(costRatio),
    statesSampleTokensPerSecond: round(80 * 16 / statesSeconds),
    kvCacheSpeedupCtxFull: round(uncachedSeconds / cachedSeconds),
    seconds: {
      trainStep: round(trainSeconds),
      onePass: round(onePassSeconds),
      perSegment: round(perSegmentSeconds),
      samplePerTokenCtx64: round(ctx64),
      samplePerTokenCtxFull: round(ctxFull),
      states80x16: round(statesSeconds),
      sample16x8CtxFullCached: round(cachedSeconds),
      sample16x8CtxFullUncached: round(uncachedSeconds)
    },
    workload: { trajectories: 8, steps: 10, trajectoryTokens: trajTokens, trainTokens, sampleRows: rows, sampleTokens: newTokens, tensorsLive: memory },
    targets: {
      onePassSpeedup: { target: ">= 5", met: onePassSpeedup >= 5 },
      sampleCostRatio: { target: "<= 2", met: costRatio <= 2 }
    }
  }
}

export const entries: Record<string, () => Promise<unknown>> = { model }
