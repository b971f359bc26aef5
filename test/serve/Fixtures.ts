import { Effect, Stream } from "effect"
import * as Bpe from "../../src/data/Bpe.ts"
import * as Render from "../../src/data/Render.ts"
import * as Expert from "../../src/env/Expert.ts"
import * as Registry from "../../src/env/Registry.ts"
import * as Checkpoint from "../../src/model/Checkpoint.ts"
import * as Preset from "../../src/model/Preset.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Metrics from "../../src/metrics/Metrics.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Sft from "../../src/stages/Sft.ts"

/**
 * A small trained policy on the qa environment (world 0), saved as a checkpoint as a run saves one: the `tiny` preset
 * with the copy head (as pipelines/tiny.ts), a 300-token BPE, SFT on 24 expert trajectories with the instruction
 * dropped (`render.instruction: "drop"`, the runner's default, in the checkpoint's meta). It writes qa-shaped actions
 * (`search[...]`, `finish[...]`) that end with <|eoa|>, and fails most tasks: enough for an episode to have several
 * turns, a context that overflows and truncates, and actions the environment answers.
 */
export const qaCheckpoint = (dir: string, options: { readonly steps?: number } = {}) =>
  Effect.gen(function*() {
    const sim = Registry.make("qa", 0)
    const experts = Array.from({ length: 24 }, (_, i) => ({ ...Expert.trajectory(sim, `train:${i}`, { thoughts: false, seed: 0 }), instruction: "" }))
    const tokenizer = yield* Bpe.train(experts.flatMap(Render.texts), { vocabSize: 300 })
    const config = Preset.config("tiny", { vocabSize: tokenizer.vocabSize, copyHead: true })
    const data = experts.map((t) => Render.render(tokenizer, t))
    const steps = options.steps ?? 30
    const { service: models } = Models.make(tokenizer, { policy: { model: Transformer.init(config, 1) } })
    yield* Stream.runDrain(
      Stream.fromIterable(Array.from({ length: steps * 8 }, (_, i) => data[i % data.length]!)).pipe(
        Sft.sft({ ...Sft.defaults, batchSize: 8, learningRate: 3e-3, warmupSteps: 2 }, { seed: 1, iteration: 0 })
      )
    ).pipe(Effect.provideService(Models.Models, models), Effect.provide(Metrics.layerNone))
    const policy = yield* models.get("policy")
    yield* Checkpoint.save(dir, { models: { policy: { model: policy } }, tokenizer, meta: { pipeline: "serve-test", env: { name: "qa", seed: 0 }, render: { instruction: "drop" } } })
    return { sim, tokenizer }
  })
