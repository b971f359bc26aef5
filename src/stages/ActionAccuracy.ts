import { Effect, Option } from "effect"
import * as Render from "../data/Render.ts"
import { EOA } from "../data/Tokenizer.ts"
import { parseAssistantTurn } from "../domain/Step.ts"
import * as Tokenized from "../domain/Tokenized.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as Context from "../model/Context.ts"
import * as SampleParts from "../model/SampleParts.ts"
import { Dispatcher, toSampleUnit } from "./Dispatcher.ts"
import { Models } from "./Models.ts"
import * as SharedSample from "./SharedSample.ts"

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
  // the same split by the kind of the expert's action (`kindOf`: house's `go`, `take`, `open`; shop's `search`, `click`;
  // qa's `search`, `lookup`, `finish`): which decisions the policy gets wrong, not only how many
  readonly byKind: Readonly<Record<string, Kind>>
}

export interface Kind {
  readonly states: number
  readonly matched: number
}

/**
 * The kind of an action: its first word, up to a space or a bracket (`go to drawer 3` -> `go`, `click[Buy Now]` ->
 * `click`), lower-cased; `(empty)` for an empty action.
 */
export const kindOf = (action: string): string => {
  const m = /^[^\s[]+/.exec(action.trim())
  return m === null ? "(empty)" : m[0].toLowerCase()
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
      ? SharedSample.states(policy, SampleParts.parts(chunk, 2, 1, options, () => 0)) // halves on the training threads when there are two
      : remote(toSampleUnit(chunk, { k: 1, ...options, seed: 0 }), { model: policy, tokenizer: tok }), { concurrency })
  let matched = 0
  const byKind: Record<string, { states: number; matched: number }> = {}
  chunks.forEach((chunk, c) => {
    const s = sampled[c]!
    chunk.forEach((r, k) => {
      const text = tok.decode(s.tokens.subarray(k * s.width, k * s.width + s.lengths[k]!))
      const right = parseAssistantTurn(text).action.trim() === r.expert
      if (right) matched++
      const kind = (byKind[kindOf(r.expert)] ??= { states: 0, matched: 0 })
      kind.states++
      if (right) kind.matched++
    })
  })
  return { states: requests.length, matched, accuracy: requests.length === 0 ? 0 : matched / requests.length, byKind: sorted(byKind) } satisfies Result
})

/** Kinds with the most states first (ties by name): the summary's order. */
const sorted = (byKind: Record<string, Kind>): Record<string, Kind> =>
  Object.fromEntries(Object.entries(byKind).sort(([a, x], [b, y]) => y.states - x.states || (a < b ? -1 : a > b ? 1 : 0)))

/** A result's kinds as eval/summary.json gives them: states and accuracy of each. */
export const kinds = (r: Result): Record<string, { readonly states: number; readonly accuracy: number }> =>
  Object.fromEntries(Object.entries(r.byKind).map(([k, v]) => [k, { states: v.states, accuracy: v.states === 0 ? 0 : v.matched / v.states }]))
