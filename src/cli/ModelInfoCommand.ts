import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import * as Preset from "../model/Preset.ts"
import * as Transformer from "../model/Transformer.ts"
import * as UserError from "./UserError.ts"

const override = (name: string, what: string) => Flag.Int(name).pipe(Flag.withDescription(`override the preset's ${what}`), Flag.optional)

/**
 * `stepagent model info --preset P [--vocab-size N --context-length N --d-model N --layers N --heads N --mlp-ratio N]`:
 * prints `{"preset","parameters","config"}` as one JSON line (no tensors are allocated: the count is computed).
 */
export const command = Command.make(
  "info",
  {
    preset: Flag.Literals("preset", Preset.names).pipe(
      Flag.withDescription("model size: tiny (~0.1M parameters), small (~1M) or base (~10M)"),
      Flag.withDefault("small" as const) // the quickstart's preset
    ),
    vocabSize: override("vocab-size", "vocabulary size (a pipeline takes it from its tokenizer)"),
    contextLength: override("context-length", "context length in tokens"),
    dModel: override("d-model", "model width"),
    layers: override("layers", "number of transformer blocks"),
    heads: override("heads", "number of attention heads (must divide --d-model)"),
    mlpRatio: override("mlp-ratio", "MLP width as a multiple of --d-model")
  },
  (flags) =>
    Effect.gen(function*() {
      const overrides: Preset.Overrides = {
        ...Option.match(flags.vocabSize, { onNone: () => ({}), onSome: (vocabSize) => ({ vocabSize }) }),
        ...Option.match(flags.contextLength, { onNone: () => ({}), onSome: (contextLength) => ({ contextLength }) }),
        ...Option.match(flags.dModel, { onNone: () => ({}), onSome: (dModel) => ({ dModel }) }),
        ...Option.match(flags.layers, { onNone: () => ({}), onSome: (layers) => ({ layers }) }),
        ...Option.match(flags.heads, { onNone: () => ({}), onSome: (heads) => ({ heads }) }),
        ...Option.match(flags.mlpRatio, { onNone: () => ({}), onSome: (mlpRatio) => ({ mlpRatio }) })
      }
      const config = Preset.config(flags.preset, overrides)
      const bad = Transformer.checkConfig(config)
      if (bad !== undefined) return yield* UserError.fail(`model info --preset ${flags.preset}: ${bad}`)
      yield* Console.log(JSON.stringify({ preset: flags.preset, parameters: Transformer.parameterCount(config), config }))
    })
).pipe(Command.withDescription("Print a model preset's parameter count and config as JSON"))
