import { Effect, Layer, Stream } from "effect"
import * as Bpe from "../../src/data/Bpe.ts"
import * as Render from "../../src/data/Render.ts"
import type * as Tokenized from "../../src/domain/Tokenized.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"
import * as Builtin from "../../src/env/Builtin.ts"
import * as Expert from "../../src/env/Expert.ts"
import type { Simulator } from "../../src/env/Simulator.ts"
import type * as Metrics from "../../src/metrics/Metrics.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as Preset from "../../src/model/Preset.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Segment from "../../src/stages/Segment.ts"
import * as Sft from "../../src/stages/Sft.ts"
import * as Fixtures from "./Fixtures.ts"
import * as Signals from "./Signals.ts"

/** Expert trajectories (train and held out), a BPE trained on the training ones, a tiny model config. */
export interface World {
  readonly tokenizer: Bpe.Bpe
  readonly train: ReadonlyArray<Tokenized.TokenizedTrajectory>
  readonly heldOut: ReadonlyArray<Tokenized.TokenizedTrajectory>
  readonly config: Transformer.Config
}

const make = (train: ReadonlyArray<Trajectory>, heldOut: ReadonlyArray<Trajectory>, vocabSize: number, contextLength: number) =>
  Effect.gen(function*() {
    const tokenizer = yield* Bpe.train(train.flatMap(Render.texts), { vocabSize })
    const render = (ts: ReadonlyArray<Trajectory>) => ts.map((t) => Render.render(tokenizer, t))
    return {
      tokenizer,
      train: render(train),
      heldOut: render(heldOut),
      config: Preset.config("tiny", { vocabSize: tokenizer.vocabSize, contextLength, dModel: 32, layers: 2, heads: 4 })
    } satisfies World
  })

/**
 * The signals environment (test/stages/Signals.ts): expert trajectories of train tasks 0..train-1, held-out
 * trajectories of test tasks 0..heldOut-1. Short (< 80 tokens): the tiny model learns it in seconds.
 */
export const signals = (options: { readonly train: number; readonly heldOut: number }) =>
  Effect.gen(function*() {
    const sim: Simulator = Signals.make()
    const expert = (split: string, n: number) => Array.from({ length: n }, (_, i) => Expert.trajectory(sim, `${split}:${i}`, { thoughts: false, seed: 0 }))
    return { ...(yield* make(expert("train", options.train), expert("test", options.heldOut), 512, 96)), sim }
  })

/** Starts the test backend (wasm, one thread, XNNPACK matmuls) once per process. */
export const backend = (): Promise<void> => Effect.runPromise(Effect.scoped(Layer.build(Backend.layerTest)).pipe(Effect.asVoid))

/** The signals environment as the built-in environment layer (for evaluation and rollouts). */
export const envLayer = Builtin.layer(Signals.make())

/** A fresh untrained policy on the world's config: `fresh(() => world)(seed)` (seed 3 unless told). */
export const fresh = (world: () => World) => (seed = 3): Transformer.Model => Transformer.init(world().config, seed)

/**
 * The behaviour world: the signals environment (test/stages/Signals.ts) with 200 training and 30 held-out
 * trajectories, and every held-out state.
 */
export const behaviour = () =>
  Effect.gen(function*() {
    const world = yield* signals({ train: 200, heldOut: 30 })
    return { world, heldOut: world.heldOut.flatMap(Segment.all) }
  })

/**
 * The shared "novice" of the behaviour tests (tiny model, seeded): the policy after 150 SFT steps on the world's
 * training trajectories. It has the action format and part of the signal -> key map. With the SFT stage's records.
 */
export const novice = async (world: World): Promise<{ readonly novice: Transformer.Model; readonly sftRecords: ReadonlyArray<Metrics.MetricRecord> }> => {
  const sftRecords: Array<Metrics.MetricRecord> = []
  const data = Array.from({ length: 12 }, () => world.train).flat().slice(0, 150 * 16)
  const novice = await Fixtures.run(
    Effect.gen(function*() {
      yield* Stream.runDrain(Stream.fromIterable(data).pipe(Sft.sft({ ...Sft.defaults, batchSize: 16, learningRate: 3e-3 }, { seed: 1, iteration: 0 })))
      return Models.copy(yield* (yield* Models.Models).get("policy"))
    }),
    Fixtures.layer(world.tokenizer, Transformer.init(world.config, 1), sftRecords, { reference: false })
  )
  return { novice, sftRecords }
}
