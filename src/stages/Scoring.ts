import { Effect, Option } from "effect"
import type { Tokenizer } from "../data/Tokenizer.ts"
import * as Discriminator from "../model/Discriminator.ts"
import * as Packed from "../model/Packed.ts"
import * as Score from "../model/Score.ts"
import type * as Transformer from "../model/Transformer.ts"
import { type DispatchError, Dispatcher, type ScoreHead, toScoreUnit } from "./Dispatcher.ts"

/**
 * Step-reward scoring (StepAgent's reflection): one number per (state, action) request under a frozen model, either
 * in this process or, when a `Dispatcher` is present (`--cluster`), on a worker that fetches exactly these weights.
 * Both compute `compute` on the same requests, so both give the same numbers:
 *   logp            log π(a|s), the action's summed token log-probabilities (prefix-packed, `Score.packed`)
 *   discriminator   -log D(s, a), the inverse reward of a discriminator (its value head is D's logit)
 * in packed passes of at most `maxTokens` padded tokens. The tensors live inside `compute`; only arrays leave it.
 */
export const compute = (m: Transformer.Model, head: ScoreHead, requests: ReadonlyArray<Packed.Request>, maxTokens: number): Float32Array => {
  if (head === "logp") return Score.packed(m, requests, { maxTokens }).sum
  const out = new Float32Array(requests.length)
  for (const pass of Packed.passes(Packed.pack(m.config.contextLength, requests), maxTokens)) {
    const r = Discriminator.rewards(m, pass.batch)
    pass.requests.forEach((q, j) => out[q] = r[j]!)
  }
  return out
}

/** The numbers of `requests` under `model` (`compute`), here or on a cluster worker. */
export const scores = (
  model: Transformer.Model,
  tokenizer: Tokenizer,
  head: ScoreHead,
  requests: ReadonlyArray<Packed.Request>,
  maxTokens: number
): Effect.Effect<Float32Array, DispatchError> =>
  Effect.flatMap(Effect.serviceOption(Dispatcher), (dispatcher) => {
    const remote = Option.isSome(dispatcher) ? dispatcher.value.scores : undefined
    return remote === undefined || requests.length === 0
      ? Effect.sync(() => compute(model, head, requests, maxTokens))
      : remote(toScoreUnit(requests, head, maxTokens), { model, tokenizer })
  })
