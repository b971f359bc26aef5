import { Effect, Layer } from "effect"
import * as Bpe from "../../src/data/Bpe.ts"
import * as Render from "../../src/data/Render.ts"
import type * as Tokenized from "../../src/domain/Tokenized.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"
import * as Expert from "../../src/env/Expert.ts"
import type { Simulator } from "../../src/env/Simulator.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as Preset from "../../src/model/Preset.ts"
import type * as Transformer from "../../src/model/Transformer.ts"
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
