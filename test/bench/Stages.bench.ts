/**
 * Benchmark `stages`: segments per second through StepAgent's stages, segment -> sample -> implicit reward
 * -> PPO, for the `small` preset on 10-step trajectories of the house environment (the shipped expert data,
 * cut to 10 steps), every stage at its default config, on the best backend of the machine. Also the
 * share of wall time spent outside the stages' synchronous compute blocks (tensor work and the typed-array
 * maths around it, as `timing/<stage>_s` reports them): the cost of the Effect streams, batching and
 * metrics. Target: < 10%.
 */
import { Effect, Layer, Stream } from "effect"
import * as Bpe from "../../src/data/Bpe.ts"
import * as Render from "../../src/data/Render.ts"
import * as TrajectoryArrow from "../../src/data/TrajectoryArrow.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as TfjsInit from "../../src/model/backend/TfjsInit.ts"
import * as Preset from "../../src/model/Preset.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Metrics from "../../src/metrics/Metrics.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Sft from "../../src/stages/Sft.ts"
import * as StepAgent from "../../src/stages/StepAgent.ts"

const round = (x: number, digits = 3): number => Number(x.toPrecision(digits))
const sftSteps = 24 // enough for the policy to end actions with <|eoa|>

const stages = async (): Promise<unknown> => {
  const info = await Effect.runPromise(TfjsInit.initialise({}, {}))
  const path = new URL("../../data/house-train.arrows", import.meta.url).pathname
  const all = await Effect.runPromise(Stream.runCollect(TrajectoryArrow.read(path).pipe(Stream.take(400))))
  // 10-step trajectories: the house expert's episodes of 10 steps or more, cut after the 10th action
  const ten: Array<Trajectory> = all.filter((t) => t.steps.length >= 10).map((t) => ({ ...t, steps: t.steps.slice(0, 10), finalObservation: t.steps[10]?.observation ?? t.finalObservation ?? "" }))
  const tokenizer = await Effect.runPromise(Bpe.train(ten.flatMap(Render.texts), { vocabSize: 2048 }))
  const config = Preset.config("small", { vocabSize: tokenizer.vocabSize })
  const trajectories = ten.slice(0, 6).map((t) => Render.render(tokenizer, t)) // 60 segments: one batch of every stage at its default size (64)
  const pool = ten.slice(6).map((t) => Render.render(tokenizer, t))
  const warmup = Array.from({ length: 8 * sftSteps }, (_, i) => pool[i % pool.length]!)
  const tokens = trajectories.reduce((n, t) => n + t.tokens.length, 0) / trajectories.length
  const records: Array<Metrics.MetricRecord> = []
  const layer = Layer.merge(Models.layer({ tokenizer, models: { policy: { model: Transformer.init(config, 1) } } }), Metrics.layerMemory(records))
  const wall = await Effect.runPromise(Effect.gen(function*() {
    // a short SFT first, so that the policy ends its actions with <|eoa|> as a trained novice does (not timed)
    yield* Stream.runDrain(Stream.fromIterable(warmup).pipe(Sft.sft(Sft.defaults, { seed: 1, iteration: 0 })))
    const t0 = performance.now()
    yield* Stream.runDrain(StepAgent.iteration(StepAgent.defaults, { seed: 1, iteration: 0 })(Stream.fromIterable(trajectories)))
    return (performance.now() - t0) / 1000
  }).pipe(Effect.provide(layer)))
  const timing = (key: string) => records.reduce((s, r) => s + (r.values[key] ?? 0), 0)
  const compute = { sample: timing("timing/sample_s"), implicitReward: timing("timing/implicit_reward_s"), ppo: timing("timing/ppo_s") }
  const inside = compute.sample + compute.implicitReward + compute.ppo
  const n = records.filter((r) => r.stage === "sample").reduce((s, r) => s + (r.values["sample/actions"] ?? 0), 0)
  const outside = (wall - inside) / wall
  return {
    backend: Backend.describe(info),
    preset: "small",
    parameters: Transformer.parameterCount(config),
    workload: {
      trajectories: trajectories.length,
      segments: n,
      meanTrajectoryTokens: round(tokens),
      stepsPerTrajectory: 10,
      meanSampledActionTokens: round(records.filter((r) => r.stage === "sample").reduce((s, r) => s + (r.values["sample/mean_tokens"] ?? 0), 0) / Math.max(1, records.filter((r) => r.stage === "sample").length)),
      warmupSftSteps: sftSteps,
      config: "StepAgent.defaults (implicit)"
    },
    segmentsPerSecond: round(n / wall),
    seconds: { wall: round(wall), sample: round(compute.sample), implicitReward: round(compute.implicitReward), ppo: round(compute.ppo), outsideCompute: round(wall - inside) },
    ppoOptimizerSteps: records.filter((r) => r.stage === "ppo").length,
    outsideShare: round(outside),
    targets: { outsideShare: { target: "< 0.10", met: outside < 0.1 } }
  }
}

export const entries: Record<string, () => Promise<unknown>> = { stages }
