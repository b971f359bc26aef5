import { Effect, Option } from "effect"
import * as Render from "../data/Render.ts"
import { EOA } from "../data/Tokenizer.ts"
import { parseAssistantTurn } from "../domain/Step.ts"
import * as Tokenized from "../domain/Tokenized.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as Context from "../model/Context.ts"
import * as ModelSample from "../model/Sample.ts"
import * as Rng from "../model/Rng.ts"
import { Dispatcher, toSampleUnit } from "./Dispatcher.ts"
import { Models } from "./Models.ts"

/**
 * One rung of the ladder (../shared/SCIENCE.md): does the policy generalise one step? At every state of
 * held-out expert trajectories, the greedy action (temperature 0, so no randomness) is parsed as the
 * environment would parse it and compared with the expert's action (exact match after trimming). Low
 * here and high on train means memorisation; high here and low episode success means compounding errors.
 */
export interface Result {
  readonly states: number
  readonly matched: number
  readonly accuracy: number
}

/**
 * States per sampling call: at most 128 (bounds the decode batch), in an even number of equal calls, so that two (or
 * four) compute threads finish together. The calls do not depend on how many threads there are.
 */
const statesPerCall = 128
const chunkSize = (n: number): number => {
  const calls = Math.max(2, 2 * Math.ceil(n / (2 * statesPerCall)))
  return Math.max(1, Math.ceil(n / calls))
}

export const actionAccuracy = Effect.fn("ActionAccuracy.actionAccuracy")(function*(trajectories: ReadonlyArray<Trajectory>) {
  const models = yield* Models
  const policy = yield* models.get("policy")
  const tok = models.tokenizer
  const requests = trajectories.flatMap((t) => {
    const rendered = Render.render(tok, t)
    return Array.from({ length: Tokenized.stepCount(rendered) }, (_, step) => ({ trajectory: rendered, step, expert: t.steps[step]!.action.trim() }))
      .filter((r) => Tokenized.trained(rendered, r.step))
  })
  const options = { maxTokens: Context.actionReserve(policy.config.contextLength), temperature: 0, stop: EOA }
  // with a dispatcher that takes sampling units (a cluster's workers, local compute threads), chunks run there, several
  // at once: the same greedy actions
  const dispatcher = yield* Effect.serviceOption(Dispatcher)
  const remote = Option.isSome(dispatcher) ? dispatcher.value.bulkSamples ?? dispatcher.value.samples : undefined
  const concurrency = remote !== undefined && Option.isSome(dispatcher) ? dispatcher.value.inFlight : 1
  const size = chunkSize(requests.length)
  const chunks = Array.from({ length: Math.ceil(requests.length / size) }, (_, c) => requests.slice(c * size, (c + 1) * size))
  const sampled = yield* Effect.forEach(chunks, (chunk) =>
    remote === undefined
      ? Effect.sync(() => ModelSample.states(policy, chunk, 1, Rng.make(0), options))
      : remote(toSampleUnit(chunk, { k: 1, ...options, seed: 0 }), { model: policy, tokenizer: tok }), { concurrency })
  let matched = 0
  chunks.forEach((chunk, c) => {
    const s = sampled[c]!
    chunk.forEach((r, k) => {
      const text = tok.decode(s.tokens.subarray(k * s.width, k * s.width + s.lengths[k]!))
      if (parseAssistantTurn(text).action.trim() === r.expert) matched++
    })
  })
  return { states: requests.length, matched, accuracy: requests.length === 0 ? 0 : matched / requests.length } satisfies Result
})
