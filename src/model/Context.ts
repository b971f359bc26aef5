import * as Tokenized from "../domain/Tokenized.ts"

/**
 * Rendering states (and whole-trajectory windows) within the model's context length, as views into the
 * trajectory's token buffer. Rules: the instruction (tokens before the first observation) is always kept;
 * the oldest turns (whole steps: observation and action) are dropped first; room is reserved for the
 * action. Only when the instruction and the current observation alone do not fit is a turn cut inside
 * (the observation keeps its end, the instruction keeps its beginning and at least half the budget).
 * What was dropped is counted, for metrics (`context/truncated_tokens`, `context/truncated_turns`).
 */
export interface State {
  readonly parts: ReadonlyArray<Int32Array> // views into the trajectory's tokens; concatenated, the state
  readonly length: number // total tokens of `parts`
  readonly firstStep: number // the oldest step whose turn is kept whole (0 when nothing was dropped)
  readonly truncatedTurns: number // whole earlier steps dropped
  readonly truncatedTokens: number // tokens of the full state s_i = tokens[0, obsEnd[i]) not in `parts`
}

/** The state s_i rendered into at most `contextLength - reserve` tokens (`reserve`: room left for the action). */
export const state = (t: Tokenized.TokenizedTrajectory, i: number, contextLength: number, reserve: number): State => {
  const budget = Math.max(1, contextLength - reserve)
  const end = Tokenized.obsEnd(t, i)
  if (end <= budget) return { parts: [t.tokens.subarray(0, end)], length: end, firstStep: 0, truncatedTurns: 0, truncatedTokens: 0 }
  const instr = Tokenized.obsStart(t, 0)
  for (let k = 1; k <= i; k++) {
    const kept = end - Tokenized.obsStart(t, k)
    if (instr + kept <= budget) {
      return {
        parts: [t.tokens.subarray(0, instr), t.tokens.subarray(Tokenized.obsStart(t, k), end)],
        length: instr + kept,
        firstStep: k,
        truncatedTurns: k,
        truncatedTokens: end - instr - kept
      }
    }
  }
  // The instruction and the current observation alone are too long: cut inside them.
  const obsLen = end - Tokenized.obsStart(t, i)
  const keepInstr = Math.min(instr, Math.max(budget - obsLen, Math.ceil(budget / 2)))
  const keepObs = budget - keepInstr
  return {
    parts: [t.tokens.subarray(0, keepInstr), t.tokens.subarray(end - keepObs, end)],
    length: budget,
    firstStep: i,
    truncatedTurns: i,
    truncatedTokens: end - budget
  }
}

/** One forward-pass window over consecutive steps of a trajectory. */
export interface Window {
  readonly parts: ReadonlyArray<Int32Array> // views; concatenated, the window's tokens
  readonly length: number
  readonly firstStep: number // steps firstStep..lastStep are scored in this window
  readonly lastStep: number
  readonly actions: ReadonlyArray<readonly [number, number]> // per step, [start, end) of its action in the window
  readonly truncatedTurns: number // of the window's first state (later states keep at least as much history)
  readonly truncatedTokens: number // tokens of the first state dropped, plus action tokens cut to fit
}

/**
 * Windows covering every step of a trajectory, each within `contextLength` tokens, for one-pass scoring.
 * When the trajectory fits (the usual case) there is one window, tokens[0, actEnd[last]), and every step's
 * state in it is exactly s_i. Otherwise a new window starts at the first step that does not fit, with that
 * step's state rendered by `state` (so it equals the per-segment state), and the steps that follow in the
 * same window keep at least as much history as `state` would give them.
 */
export const windows = (t: Tokenized.TokenizedTrajectory, contextLength: number): ReadonlyArray<Window> => {
  const n = Tokenized.stepCount(t)
  const out: Array<Window> = []
  let m0 = 0
  while (m0 < n) {
    const actLen = Tokenized.actEnd(t, m0) - Tokenized.actStart(t, m0)
    const s = state(t, m0, contextLength, Math.min(actLen, contextLength - 1))
    const base = Tokenized.obsEnd(t, m0) // the state's last part ends here in the trajectory's buffer
    const stateLen = s.length
    // extend with whole later steps while they fit
    let m = m0
    while (m + 1 < n && stateLen + Tokenized.actEnd(t, m + 1) - base <= contextLength) m++
    const lastPart = s.parts[s.parts.length - 1]!
    const startOfLast = base - lastPart.length
    const end = Math.min(Tokenized.actEnd(t, m), base + contextLength - stateLen) // cut only a lone over-long action
    const parts = [...s.parts.slice(0, -1), t.tokens.subarray(startOfLast, end)]
    const actions: Array<readonly [number, number]> = []
    for (let j = m0; j <= m; j++) {
      const a = stateLen + Tokenized.actStart(t, j) - base
      actions.push([a, Math.min(stateLen + Tokenized.actEnd(t, j) - base, stateLen + end - base)])
    }
    out.push({
      parts,
      length: stateLen + end - base,
      firstStep: m0,
      lastStep: m,
      actions,
      truncatedTurns: s.truncatedTurns,
      truncatedTokens: s.truncatedTokens + Tokenized.actEnd(t, m) - end
    })
    m0 = m + 1
  }
  return out
}
