/**
 * Benchmarks of prefix-packed step branches (src/model/Packed.ts), `small` preset, the machine's best backend.
 * - `packedSpeedup`: scoring and training every step's (state, action) pair of 10- and 30-step trajectories
 *   (the expert's action and one agent action per step, as the implicit reward's DPO sees them), packed
 *   against per pair (`Score.segmentSequence` sequences). Target: steps10 >= 5.
 * - `iterationCost`: seconds of one StepAgent iteration (sampling, reward, PPO; default config) per trajectory
 *   over seconds of one SFT epoch per trajectory, same trajectories and model, on qa, house and shop expert
 *   trajectories (implicit variant; the inverse variant's ratios under `inverse`): the first iteration (`ratio`, with
 *   what a run pays once: the inverse variant's 32 warm-up discriminator steps; the process's compiling and heap growth
 *   are paid before, by an untimed iteration, as SFT's are by the novice's steps) and the second (`steady`, what every
 *   later iteration costs); an SFT epoch's seconds are the median of three around each variant's iterations (one moved by
 *   up to 1.3x between the variants of one run), on a run's training threads (`trainThreads`: every core, one-thread
 *   backends, as `stepagent run`'s default on wasm; STEPAGENT_BENCH_TRAIN_THREADS=1 for one learner on the backend's
 *   own threads). Target: <= 3. ~60 min on 2 cores;
 *   `STEPAGENT_BENCH_ENVS=qa` (a comma-separated subset of qa, house, shop) measures only those, in minutes.
 */
import * as tf from "@tensorflow/tfjs"
import { Effect, Layer, ManagedRuntime, Stream } from "effect"
import * as os from "node:os"
import * as Bpe from "../../src/data/Bpe.ts"
import * as Render from "../../src/data/Render.ts"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as Expert from "../../src/env/Expert.ts"
import * as Registry from "../../src/env/Registry.ts"
import * as ActionBatch from "../../src/model/ActionBatch.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as TfjsInit from "../../src/model/backend/TfjsInit.ts"
import * as Microbatch from "../../src/model/Microbatch.ts"
import * as Optimizer from "../../src/model/Optimizer.ts"
import * as Packed from "../../src/model/Packed.ts"
import * as Policy from "../../src/model/Policy.ts"
import * as Preset from "../../src/model/Preset.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Metrics from "../../src/metrics/Metrics.ts"
import * as GradientThreads from "../../src/stages/GradientThreads.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Sft from "../../src/stages/Sft.ts"
import * as StepAgent from "../../src/stages/StepAgent.ts"
import * as Fixtures from "../model/Fixtures.ts"

const round = (x: number, digits = 3): number => Number(x.toPrecision(digits))
const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const seconds = (f: () => void): number => {
  const t0 = performance.now()
  f()
  return (performance.now() - t0) / 1000
}

/** Scoring plus one gradient step (summed log-probs of every pair) over `batches`, as a DPO or PPO step does. */
const scoreAndTrain = (m: Transformer.Model, opt: Optimizer.Optimizer, batches: ReadonlyArray<ActionBatch.ActionBatch>): void => {
  for (const b of batches) Score.score(m, b)
  Optimizer.minimize(opt, batches.map((b) => () => tf.tidy(() => tf.neg(tf.mean(tf.sum(Policy.outputs(m, ActionBatch.tensors(b, true)).logp, 1))) as tf.Scalar)))
}

const speedupAt = (m: Transformer.Model, opt: Optimizer.Optimizer, steps: number) => {
  const ctx = m.config.contextLength
  // 4 trajectories: 21 + steps * (1 + 24 + 1 + 8 + 1) tokens (371 at 10 steps; 1,071 at 30, two to three windows)
  const trajs = Array.from({ length: 4 }, (_, i) => Fixtures.trajectory(300 + steps * 10 + i, steps, { instruction: 20, observation: 24, action: 8 }))
  const requests: Array<Packed.Request> = trajs.flatMap((t) =>
    Array.from({ length: steps }, (_, step) => [
      { trajectory: t, step },
      { trajectory: t, step, action: Int32Array.from({ length: 9 }, (_, k) => 262 + ((step * 31 + k * 7) % 700)) }
    ]).flat()
  )
  const maxTokens = 8192
  const packed = Packed.passes(Packed.pack(ctx, requests), maxTokens).map((p) => p.batch)
  const seqs = requests.map((r) => Score.segmentSequence(ctx, r).sequence)
  const perPair = Microbatch.plan(seqs.map((s) => s.parts.reduce((n, p) => n + p.length, 0)), maxTokens).map((rows) => ActionBatch.build(rows.map((r) => seqs[r]!)))
  scoreAndTrain(m, opt, packed) // warm-up
  scoreAndTrain(m, opt, perPair)
  const p: Array<number> = []
  const q: Array<number> = []
  for (let i = 0; i < 3; i++) {
    p.push(seconds(() => scoreAndTrain(m, opt, packed)))
    q.push(seconds(() => scoreAndTrain(m, opt, perPair)))
  }
  const tokens = (bs: ReadonlyArray<ActionBatch.ActionBatch>) => bs.reduce((n, b) => n + b.batch * b.length, 0)
  return {
    ratio: round(median(q) / median(p)),
    packedSeconds: round(median(p)),
    perPairSeconds: round(median(q)),
    pairs: requests.length,
    paddedTokens: { packed: tokens(packed), perPair: tokens(perPair) }
  }
}

const packedSpeedup = async (): Promise<unknown> => {
  const info = await Effect.runPromise(TfjsInit.initialise({}, {}))
  const m = Transformer.init(Preset.config("small"), 1)
  const opt = Optimizer.make(Transformer.named(m.weights), { learningRate: 1e-5 })
  const steps10 = speedupAt(m, opt, 10)
  const steps30 = speedupAt(m, opt, 30)
  Optimizer.dispose(opt)
  Transformer.dispose(m)
  return {
    backend: Backend.describe(info),
    preset: "small",
    steps10: steps10.ratio,
    steps30: steps30.ratio,
    detail: { steps10, steps30 },
    workload: "4 trajectories, per step the expert's action and one 9-token agent action; scoring plus one gradient step on summed log-probs",
    targets: { steps10: { target: ">= 5", met: steps10.ratio >= 5 } }
  }
}

/** Trajectories per environment: qa's are 3 steps, house's 10-34, shop's 4-8 (about one 64-segment batch or two each). */
const perEnv = { qa: 21, house: 6, shop: 10 } as const

/**
 * The novice every variant starts from: `noviceSteps` SFT steps of 8 on other expert trajectories of the environment at
 * the quickstart's rate (untimed), so that its actions end with <|eoa|> at about the length a trained policy writes (the
 * quickstart's SFT novice: ~11 tokens, 98% stopped). 24 steps, as this benchmark had before, left it sampling ~60 of the
 * 64 reserved tokens at every state, which inflated every phase of the iteration against a real run's.
 */
const noviceSteps = 200

/** Runs an effect of the benchmark with the training threads' service of a run (`GradientThreads`, kept between calls). */
type Runner = <A, E>(effect: Effect.Effect<A, E, GradientThreads.GradientThreads>) => Promise<A>

const costOf = async (env: Registry.Name, run: Runner) => {
  const sim = Registry.make(env, 0)
  const raw = Array.from({ length: perEnv[env] + 200 }, (_, i) => Expert.trajectory(sim, `train:${i}`, { thoughts: false, seed: 0 }))
  const tokenizer = await Effect.runPromise(Bpe.train(raw.flatMap(Render.texts), { vocabSize: 1024 }))
  const config = Preset.config("small", { vocabSize: tokenizer.vocabSize })
  const trajectories = raw.slice(0, perEnv[env]).map((t) => Render.render(tokenizer, t))
  const warmup = raw.slice(perEnv[env]).map((t) => Render.render(tokenizer, t))
  const steps = trajectories.reduce((n, t) => n + Tokenized.stepCount(t), 0)
  // trained inside its Models layer, which disposes its models when it closes: the novice is a copy taken before that
  const novice = await run(
    Effect.gen(function*() {
      yield* Stream.runDrain(Stream.fromIterable(Array.from({ length: 8 * noviceSteps }, (_, i) => warmup[i % warmup.length]!)).pipe(Sft.sft({ ...Sft.defaults, learningRate: 2e-3 }, { seed: 1, iteration: 0 })))
      return Models.copy(yield* (yield* Models.Models).get("policy"))
    }).pipe(Effect.provide(Layer.merge(Models.layer({ tokenizer, models: { policy: { model: Transformer.init(config, 1) } } }), Metrics.layerNone)))
  )
  type Steady = { readonly ratio: number; readonly iterationSeconds: number; readonly phases: Record<string, number> }
  type Cost = Steady & { readonly sftEpochSeconds: number; readonly sampledTokens: number; readonly stoppedFrac: number; readonly steady: Steady }
  const out: { implicit?: Cost; inverse?: Cost; fourPasses?: Cost } = {}
  // the defaults are one pass over each batch in the reward model (4 updates of 16) and in PPO (1 epoch); "fourPasses"
  // is the implicit variant with the defaults before 2026-12-06 (16 DPO updates, 4 PPO epochs): what the passes cost
  const variants = {
    implicit: StepAgent.config({ reward: "implicit" }),
    inverse: StepAgent.config({ reward: "inverse" }),
    fourPasses: StepAgent.config({ reward: "implicit", implicit: { steps: 16 }, ppo: { epochs: 4 } })
  }
  // a fresh copy of the novice as the policy (its layer disposes the copy when it closes), with the given metrics
  const onNovice = (metrics: Layer.Layer<Metrics.Metrics>) =>
    Layer.merge(Models.layer({ tokenizer, models: { policy: { model: Models.copy(novice) } } }), metrics)
  // one SFT epoch on a throwaway copy of the novice (its layer disposes the copy): the denominator is the median of three
  // epochs around each variant's iteration, since one epoch's time moved by up to 1.3x between the variants of one run
  const sftEpoch = () =>
    run(Effect.gen(function*() {
      const t0 = performance.now()
      yield* Stream.runDrain(Stream.fromIterable(trajectories).pipe(Sft.sft(Sft.defaults, { seed: 2, iteration: 0 })))
      return (performance.now() - t0) / 1000
    }).pipe(Effect.provide(onNovice(Metrics.layerNone))))
  // the process's one-time costs (code compiled on first use in the learner and the helpers, the heaps' first growth)
  // are paid before timing, as the SFT epoch's were by the novice's steps: one untimed iteration of each reward variant
  // on a throwaway copy of the novice, over other trajectories of the environment. Without it the first timed
  // iteration of the process (qa's) paid them: qa's implicit first iteration 3.94x, the same measured again in the same
  // process 3.38x and 3.07x (the twenty-fifth session). The timed first iteration still pays what a run pays once for
  // its models (their copies, the discriminator's warm-up steps)
  for (const reward of ["implicit", "inverse"] as const) {
    await run(Stream.runDrain(StepAgent.iteration(StepAgent.config({ reward }), { seed: 3, iteration: 0 })(Stream.fromIterable(warmup.slice(0, perEnv[env])))).pipe(
      Effect.provide(onNovice(Metrics.layerNone))
    ))
  }
  for (const variant of ["implicit", "inverse", "fourPasses"] as const) {
    const reward = variant === "inverse" ? "inverse" : "implicit"
    const records: Array<Metrics.MetricRecord> = []
    const layer = onNovice(Metrics.layerMemory(records))
    // the first iteration pays once for what a run pays once (the models' copies, the discriminator's warm-up steps);
    // the second is what every later one costs
    const before = await sftEpoch()
    const [own, iteration, second] = await run(Effect.gen(function*() {
      const t0 = performance.now()
      yield* Stream.runDrain(Stream.fromIterable(trajectories).pipe(Sft.sft(Sft.defaults, { seed: 2, iteration: 0 })))
      const t1 = performance.now()
      yield* Stream.runDrain(StepAgent.iteration(variants[variant], { seed: 1, iteration: 0 })(Stream.fromIterable(trajectories)))
      const t2 = performance.now()
      yield* Stream.runDrain(StepAgent.iteration(variants[variant], { seed: 1, iteration: 1 })(Stream.fromIterable(trajectories)))
      return [(t1 - t0) / 1000, (t2 - t1) / 1000, (performance.now() - t2) / 1000] as const
    }).pipe(Effect.provide(layer)))
    const sft = median([before, own, await sftEpoch()])
    const n = trajectories.length
    const samples = records.filter((r) => r.stage === "sample")
    const actions = samples.reduce((x, r) => x + (r.values["sample/actions"] ?? 0), 0)
    const timing = (key: string, at: number) => round(records.filter((r) => r.iteration === at && r.stage !== "sft").reduce((x, r) => x + (r.values[key] ?? 0), 0) / n)
    const phases = (at: number) => ({ sample: timing("timing/sample_s", at), reward: timing(reward === "implicit" ? "timing/implicit_reward_s" : "timing/inverse_reward_s", at), ppo: timing("timing/ppo_s", at) }) // seconds per trajectory
    out[variant] = {
      ratio: round((iteration / n) / (sft / n)),
      iterationSeconds: round(iteration / n),
      sftEpochSeconds: round(sft / n),
      phases: phases(0),
      steady: { ratio: round((second / n) / (sft / n)), iterationSeconds: round(second / n), phases: phases(1) },
      sampledTokens: round(samples.reduce((x, r) => x + (r.values["sample/mean_tokens"] ?? 0) * (r.values["sample/actions"] ?? 0), 0) / Math.max(1, actions)), // mean tokens of a sampled action
      stoppedFrac: round(samples.reduce((x, r) => x + (r.values["sample/stopped_frac"] ?? 0) * (r.values["sample/actions"] ?? 0), 0) / Math.max(1, actions)) // actions ended by <|eoa|>
    }
  }
  Transformer.dispose(novice)
  return { implicit: out.implicit!, inverse: out.inverse!, fourPasses: out.fourPasses!, trajectories: trajectories.length, segments: steps, meanTokens: round(trajectories.reduce((n, t) => n + t.tokens.length, 0) / trajectories.length) }
}

/** The environments `iterationCost` measures: all three, or the subset STEPAGENT_BENCH_ENVS names. */
const benchEnvs = (): ReadonlyArray<Registry.Name & keyof typeof perEnv> => {
  const all = ["qa", "house", "shop"] as const
  const asked = process.env["STEPAGENT_BENCH_ENVS"]
  if (asked === undefined || asked.trim() === "") return all
  const names = asked.split(",").map((s) => s.trim()).filter((s) => s !== "")
  const unknown = names.filter((n) => !all.some((e) => e === n))
  if (unknown.length > 0) throw new Error(`STEPAGENT_BENCH_ENVS: unknown environment ${unknown.join(", ")} (known: ${all.join(", ")})`)
  return all.filter((e) => names.includes(e))
}

/**
 * The training threads `iterationCost` runs on: STEPAGENT_BENCH_TRAIN_THREADS, else every core, as `stepagent run`
 * defaults to on wasm (each thread a one-thread backend; SFT's, DPO's and PPO's passes and the scorings shared). 1: one
 * learner on the backend's own threads (XNNPACK's or OpenBLAS's), the figures before 2026-12-07's twenty-third session.
 */
const benchTrainThreads = (): number => {
  const asked = process.env["STEPAGENT_BENCH_TRAIN_THREADS"]
  if (asked === undefined || asked.trim() === "") return os.availableParallelism()
  const n = Number(asked)
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`STEPAGENT_BENCH_TRAIN_THREADS ${asked}: expected a whole number of threads from 1 to 64`)
  return n
}

const iterationCost = async (): Promise<unknown> => {
  const chosen = benchEnvs()
  const asked = benchTrainThreads()
  const info = await Effect.runPromise(TfjsInit.initialise(asked > 1 ? { backend: "wasm", threads: 1 } : {}, {}))
  // a backend started earlier in this process (packedSpeedup's, on its own threads) cannot take helpers beside it
  const trainThreads = info.name === "wasm" && (info.threads.blas > 0 ? info.threads.blas : info.threads.wasm) === 1 ? asked : 1
  if (trainThreads !== asked) process.stderr.write(`bench: iterationCost on 1 training thread (the backend was started on ${Backend.describe(info)})\n`)
  const runtime = ManagedRuntime.make(trainThreads > 1 ? GradientThreads.layer(trainThreads, { backend: "wasm", matmul: info.matmul, threads: 1 }) : GradientThreads.serial)
  const envs: Record<string, Awaited<ReturnType<typeof costOf>>> = {}
  for (const env of chosen) {
    process.stderr.write(`bench: iterationCost ${env}\n`)
    envs[env] = await costOf(env, (effect) => runtime.runPromise(effect))
  }
  await runtime.dispose()
  const pick = (variant: "implicit" | "inverse" | "fourPasses") => Object.fromEntries(Object.entries(envs).map(([k, v]) => [k, v[variant]]))
  const implicit = pick("implicit")
  return {
    backend: Backend.describe(info),
    trainThreads,
    preset: "small",
    ...implicit,
    inverse: pick("inverse"),
    fourPasses: pick("fourPasses"),
    workload: Object.fromEntries(Object.entries(envs).map(([k, v]) => [k, { trajectories: v.trajectories, segments: v.segments, meanTokens: v.meanTokens }])),
    config: `novice: ${noviceSteps} SFT steps of 8 at lr 2e-3, copied for each variant; one untimed iteration of each reward variant on another copy first (the process's one-time costs); StepAgent defaults (sample k 1; implicit: 4 DPO steps of 16 pairs; inverse: 4 + 32 warm-up discriminator steps in the first iteration, 4 in the second (steady); PPO 1 epoch of minibatches of 16: one pass over each batch); fourPasses: implicit with the earlier defaults, 16 DPO steps and 4 PPO epochs; SFT defaults, 1 epoch, its seconds the median of 3 around each variant's iterations`,
    targets: { ratio: { target: "<= 3", met: Object.values(implicit).every((r) => r!.ratio <= 3) } }
  }
}

export const entries: Record<string, () => Promise<unknown>> = { packedSpeedup, iterationCost }
