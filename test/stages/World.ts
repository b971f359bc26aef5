import { Context, Effect, Layer, Stream } from "effect"
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

/** The signals environment as the built-in environment layer (for evaluation and rollouts). */
export const envLayer = Builtin.layer(Signals.make())

/** A fresh untrained policy on the world's config (seed 3 unless told). */
export const fresh = (world: World, seed = 3): Transformer.Model => Transformer.init(world.config, seed)

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
export const novice = (world: World) =>
  Effect.suspend(() => {
    const sftRecords: Array<Metrics.MetricRecord> = []
    const data = Array.from({ length: 12 }, () => world.train).flat().slice(0, 150 * 16)
    return Effect.gen(function*() {
      yield* Stream.runDrain(Stream.fromIterable(data).pipe(Sft.sft({ ...Sft.defaults, batchSize: 16, learningRate: 3e-3 }, { seed: 1, iteration: 0 })))
      const novice = Models.copy(yield* (yield* Models.Models).get("policy"))
      return { novice, sftRecords: sftRecords as ReadonlyArray<Metrics.MetricRecord> }
    }).pipe(Effect.provide(Fixtures.layer(world.tokenizer, Transformer.init(world.config, 1), sftRecords, { reference: false })))
  })

// The worlds as services, for the tests of an `it.layer` block: the layer starts the test backend (wasm, one thread,
// XNNPACK matmuls; a later block finds it running) and builds the world once for the block.

/** The signals world of `signals(options)`. */
export class SignalsWorld extends Context.Service<SignalsWorld, Effect.Success<ReturnType<typeof signals>>>()("test/stages/World/SignalsWorld") {}

export const layerSignals = (options: { readonly train: number; readonly heldOut: number }) =>
  Layer.effect(SignalsWorld, signals(options)).pipe(Layer.provideMerge(Backend.layerTest))

/** The behaviour world and its held-out states (`behaviour()`). */
export class BehaviourWorld extends Context.Service<BehaviourWorld, Effect.Success<ReturnType<typeof behaviour>>>()("test/stages/World/BehaviourWorld") {}

export const layerBehaviour = Layer.effect(BehaviourWorld, behaviour()).pipe(Layer.provideMerge(Backend.layerTest))

/** The shared novice on the behaviour world (`novice(world)`), disposed when the block's layer closes. */
export class Novice extends Context.Service<Novice, Effect.Success<ReturnType<typeof novice>>>()("test/stages/World/Novice") {}

export const layerNovice = Layer.effect(
  Novice,
  Effect.acquireRelease(
    Effect.gen(function*() {
      return yield* novice((yield* BehaviourWorld).world)
    }),
    (n) => Effect.sync(() => Transformer.dispose(n.novice))
  )
).pipe(Layer.provideMerge(layerBehaviour))
