import * as Tokenized from "../domain/Tokenized.ts"
import type * as Packed from "../model/Packed.ts"
import * as Rng from "../model/Rng.ts"
import type { AgentAction } from "./Sample.ts"
import * as Segment from "./Segment.ts"

/**
 * Synthetic negatives for a step-reward model: agent-like mistakes at an expert state, made from the expert's own
 * trajectory at the token level, so a reward model sees many contrasts at every state and not only the few where
 * the sampled agent happened to differ (on qa ~30 of 96 states a round: docs/paper-table.md). The kinds are the
 * failures measured in the environments' episodes (docs/paper-table.md):
 *   0. repeat: the expert's previous action again (house: the agent repeats itself after arriving);
 *   1. early: a later expert action of the same trajectory (acting before its time, skipping a step);
 *   2. drop: one token of the action left out (a garbled copy: shop's `click[B0HA1CH5B]`);
 *   3. swap: one token of the action replaced by a token of the state's last observation (a wrong name or object
 *      read from the page: house's `take bread 1 from countertop 1`, qa's wrong entity).
 * A draw that does not apply (no previous or later action, a one-token action) or that equals the expert's action
 * is drawn again, up to a bound; `<|eoa|>` always ends the action. Pure, seeded.
 */
export const kinds = ["repeat", "early", "drop", "swap"] as const
export type Kind = typeof kinds[number]

const pick = (rng: Rng.Rng, n: number): number => Math.min(n - 1, Math.floor(Rng.uniform(rng) * n))

/** The action tokens of step `i` (<|eoa|> included), a view. */
const actionAt = (t: Tokenized.TokenizedTrajectory, i: number): Int32Array =>
  t.tokens.subarray(Tokenized.actStart(t, i), Tokenized.actEnd(t, i))

const equal = (a: Int32Array, b: Int32Array): boolean => a.length === b.length && a.every((x, k) => x === b[k])

/** One mistake of `kind` at `s`, or undefined when the kind does not apply there. */
export const mistake = (rng: Rng.Rng, s: Segment.Segment, kind: Kind): Int32Array | undefined => {
  const t = s.trajectory
  const expert = Segment.expertAction(s)
  const body = expert.length - 1 // the tokens before <|eoa|>
  switch (kind) {
    case "repeat":
      return s.step === 0 ? undefined : actionAt(t, s.step - 1).slice()
    case "early": {
      const later = Tokenized.stepCount(t) - s.step - 1
      return later <= 0 ? undefined : actionAt(t, s.step + 1 + pick(rng, later)).slice()
    }
    case "drop": {
      if (body < 2) return undefined
      const k = pick(rng, body)
      const out = new Int32Array(expert.length - 1)
      out.set(expert.subarray(0, k))
      out.set(expert.subarray(k + 1), k)
      return out
    }
    case "swap": {
      // the observation's own tokens, without its opening <|obs|> and closing <|act|>
      const from = Tokenized.obsStart(t, s.step) + 1
      const to = Tokenized.obsEnd(t, s.step) - 1
      if (body < 1 || to <= from) return undefined
      const out = expert.slice()
      out[pick(rng, body)] = t.tokens[from + pick(rng, to - from)]!
      return out
    }
  }
}

/** `count` mistakes at `s`, each of a uniformly drawn kind that applies and differs from the expert's action (fewer when none does). */
export const draw = (rng: Rng.Rng, s: Segment.Segment, count: number): Array<Int32Array> => {
  const expert = Segment.expertAction(s)
  const out: Array<Int32Array> = []
  for (let tries = 0; out.length < count && tries < 8 * count; tries++) {
    const m = mistake(rng, s, kinds[pick(rng, kinds.length)]!)
    if (m !== undefined && !equal(m, expert)) out.push(m)
  }
  return out
}

/**
 * `count` mistakes at each distinct expert state of a batch of agent actions (k samples of one state share it), as
 * (state, action) requests in the batch's order: what a reward model trains on beside the agent's actions.
 */
export const requests = (rng: Rng.Rng, actions: ReadonlyArray<AgentAction>, count: number): Array<Packed.Request> => {
  if (count === 0) return []
  const seen = new Set<Segment.Segment>()
  const out: Array<Packed.Request> = []
  for (const a of actions) {
    if (seen.has(a.segment)) continue
    seen.add(a.segment)
    for (const action of draw(rng, a.segment, count)) out.push({ trajectory: a.segment.trajectory, step: a.segment.step, action })
  }
  return out
}
