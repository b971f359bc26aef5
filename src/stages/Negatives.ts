import * as Tokenized from "../domain/Tokenized.ts"
import type * as Packed from "../model/Packed.ts"
import * as Rng from "../model/Rng.ts"
import type { AgentAction } from "./Sample.ts"
import * as Segment from "./Segment.ts"

/**
 * Synthetic negatives for a step-reward model: agent-like mistakes at an expert state, made from the expert's own
 * trajectory at the token level, so a reward model sees many contrasts at every state and not only the few where
 * the sampled agent happened to differ (on qa ~20 of ~96 states a round: docs/paper-table.md). The kinds are the
 * failures seen in the environments' episodes and samples (docs/paper-table.md):
 *   repeat: the expert's previous action again (house: the agent repeats itself after arriving);
 *   early:  a later expert action of the same trajectory (acting before its time, skipping a step);
 *   drop:   1-3 consecutive tokens of the action left out (a garbled or cut copy: shop's `click[B0HA1CH5B]`, qa's
 *           `finish[Sidru Shin]` for `finish[Sidru Shinbix]`);
 *   swap:   1-3 consecutive tokens replaced by 1-3 consecutive tokens of the state's last observation (a wrong name
 *           or object read from the page: qa's `finish[Listeix]` for `finish[Fafur]`, house's `take bread 1 ...`);
 *   insert: 1-3 consecutive tokens of the last observation inserted (qa's `search[Shond Krambri born in]`).
 * A draw that does not apply (no previous or later action, nothing left of the action, an empty observation) or that
 * equals the expert's action is drawn again, up to a bound; `<|eoa|>` always ends the action. Pure, seeded.
 */
export const kinds = ["repeat", "early", "drop", "swap", "insert"] as const
export type Kind = typeof kinds[number]

/** The longest span an edit removes or inserts: agents' copy errors are a word or two, 1-3 tokens. */
export const maxSpan = 3

const pick = (rng: Rng.Rng, n: number): number => Math.min(n - 1, Math.floor(Rng.uniform(rng) * n))

/** The action tokens of step `i` (<|eoa|> included), a view. */
const actionAt = (t: Tokenized.TokenizedTrajectory, i: number): Int32Array =>
  t.tokens.subarray(Tokenized.actStart(t, i), Tokenized.actEnd(t, i))

const equal = (a: Int32Array, b: Int32Array): boolean => a.length === b.length && a.every((x, k) => x === b[k])

/** `expert` with tokens [at, at + removed) replaced by `inserted`. */
const edit = (expert: Int32Array, at: number, removed: number, inserted: Int32Array): Int32Array => {
  const out = new Int32Array(expert.length - removed + inserted.length)
  out.set(expert.subarray(0, at))
  out.set(inserted, at)
  out.set(expert.subarray(at + removed), at + inserted.length)
  return out
}

/** One mistake of `kind` at `s`, or undefined when the kind does not apply there. */
export const mistake = (rng: Rng.Rng, s: Segment.Segment, kind: Kind): Int32Array | undefined => {
  const t = s.trajectory
  const expert = Segment.expertAction(s)
  const body = expert.length - 1 // the tokens before <|eoa|>
  // the observation's own tokens, without its opening <|obs|> and closing <|act|>
  const from = Tokenized.obsStart(t, s.step) + 1
  const to = Tokenized.obsEnd(t, s.step) - 1
  const observed = (): Int32Array => {
    const n = 1 + pick(rng, Math.min(maxSpan, to - from))
    const at = from + pick(rng, to - from - n + 1)
    return t.tokens.subarray(at, at + n)
  }
  switch (kind) {
    case "repeat":
      return s.step === 0 ? undefined : actionAt(t, s.step - 1).slice()
    case "early": {
      const later = Tokenized.stepCount(t) - s.step - 1
      return later <= 0 ? undefined : actionAt(t, s.step + 1 + pick(rng, later)).slice()
    }
    case "drop": {
      if (body < 2) return undefined
      const n = 1 + pick(rng, Math.min(maxSpan, body - 1)) // at least one token of the action stays
      return edit(expert, pick(rng, body - n + 1), n, new Int32Array(0))
    }
    case "swap": {
      if (body < 1 || to <= from) return undefined
      const n = 1 + pick(rng, Math.min(maxSpan, body))
      return edit(expert, pick(rng, body - n + 1), n, observed())
    }
    case "insert": {
      if (to <= from) return undefined
      return edit(expert, pick(rng, body + 1), 0, observed())
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
