import { ACT, GAP } from "../data/Tokenizer.ts"
import * as Tokenized from "../domain/Tokenized.ts"

/**
 * Rendering states (and whole-trajectory windows) within the model's context length, as views into the
 * trajectory's token buffer. One rule everywhere (SFT, scoring, sampling, DPO pairs, evaluation), so the
 * model is trained on exactly the states it acts from:
 * - room is reserved for the action: `actionReserve(contextLength)` tokens, never the action's own length,
 *   so a chosen and a rejected action at one state see the same state tokens;
 * - the head is pinned: `<|bos|> instruction <|obs|> o_1 <|act|> a_1 <|eoa|>` (the task sits in the
 *   instruction or the first observation in every built-in environment, and in ETO/AgentGym data);
 * - middle turns go first (the oldest whole steps after the head), and a `<|gap|>` token marks where; they
 *   go in blocks (`keptFrom`), so consecutive states share their turns and pack into one window;
 * - only when the head and the current observation alone do not fit is a turn cut inside: each keeps its
 *   *beginning* (a task statement starts its observation; a results page lists its best matches first),
 *   and the current observation keeps its closing `<|act|>`; the head gets at most half the budget.
 * What was dropped is counted, for metrics (`context/truncated_tokens`, `context/truncated_turns`).
 */
export interface State {
  readonly parts: ReadonlyArray<Int32Array> // views into the trajectory's tokens (and the shared `<|gap|>`); concatenated, the state
  readonly length: number // total tokens of `parts`
  readonly firstStep: number // the oldest step after the head whose turn is kept whole (0 when nothing was dropped)
  readonly truncatedTurns: number // whole earlier steps dropped
  readonly truncatedTokens: number // tokens of the full state s_i = tokens[0, obsEnd[i]) not in `parts`
  readonly cut: boolean // a turn was cut inside (the state is not whole turns)
}

/**
 * Tokens reserved for the action at every state: the longest action sampled or scored. An eighth of the context,
 * at least 64, at most a quarter (tiny test models). 64 (`small`, 512 tokens) holds every expert action of the
 * built-in environments (the longest, a shop search with its keywords, is 50 tokens with a 1k vocabulary); a
 * longer context is for longer turns: the built-in experts' `Thought: ...\nAction: ...` turns (qa: median 59
 * tokens, longest 77 with a 1k vocabulary) fit the 96 of a 768-token context.
 */
export const actionReserve = (contextLength: number): number =>
  Math.max(1, Math.min(Math.floor(contextLength / 4), Math.max(64, Math.floor(contextLength / 8))))

/** The tokens of a sequence held as parts (views concatenated): states, windows, packed sequences, prefixes. */
export const lengthOf = (parts: ReadonlyArray<Int32Array>): number => parts.reduce((n, p) => n + p.length, 0)

/** The tokens of a sequence held as parts, in one array (a copy). */
export const flatten = (parts: ReadonlyArray<Int32Array>): Int32Array => {
  const out = new Int32Array(lengthOf(parts))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

const gap = Int32Array.of(GAP)
const act = Int32Array.of(ACT)

/**
 * The first step whose turn the state of step i keeps after the head (1: nothing dropped). Turns are dropped in
 * blocks: while the state grows within the budget, every step keeps the same turns (its state extends the previous
 * one, so consecutive states are prefixes of one window and pack into one pass: `windows`, `Packed.pack`); when it
 * overflows, the oldest turns go until it fills at most `refill` of the budget (else as much as fits). Dropping one
 * turn per step instead keeps the most history but makes every late state differ from the last, which costs a
 * forward pass per step in training and scoring.
 */
const keptFrom = (t: Tokenized.TokenizedTrajectory, i: number, budget: number): number => {
  const head = Tokenized.obsStart(t, 1)
  const length = (k: number, j: number) => k === 1 ? Tokenized.obsEnd(t, j) : head + 1 + Tokenized.obsEnd(t, j) - Tokenized.obsStart(t, k)
  let k = 1
  for (let j = 1; j <= i; j++) {
    if (length(k, j) <= budget) continue
    let next = j // when even turn j alone does not fit, the state is cut inside (`state`)
    for (const limit of [Math.floor(budget * refill), budget]) {
      let c = Math.max(k + 1, 2)
      while (c <= j && length(c, j) > limit) c++
      if (c <= j) {
        next = c
        break
      }
    }
    k = next
  }
  return k
}

/**
 * How full a state is left when it overflows and turns are dropped: half the budget, so that the next steps extend
 * it for about half a context before the next drop (a window then covers several steps); the states keep between
 * half and all of the budget of history.
 */
export const refill = 0.5

/** The state s_i rendered into at most `contextLength - actionReserve(contextLength)` tokens. */
export const state = (t: Tokenized.TokenizedTrajectory, i: number, contextLength: number): State => {
  const budget = Math.max(2, contextLength - actionReserve(contextLength))
  const end = Tokenized.obsEnd(t, i)
  if (end <= budget) return { parts: [t.tokens.subarray(0, end)], length: end, firstStep: 0, truncatedTurns: 0, truncatedTokens: 0, cut: false }
  if (i >= 2) {
    const head = Tokenized.obsStart(t, 1) // bos, instruction, first observation and action
    const k = keptFrom(t, i, budget)
    const kept = end - Tokenized.obsStart(t, k)
    if (k >= 2 && head + 1 + kept <= budget) {
      return {
        parts: [t.tokens.subarray(0, head), gap, t.tokens.subarray(Tokenized.obsStart(t, k), end)],
        length: head + 1 + kept,
        firstStep: k,
        truncatedTurns: k - 1,
        truncatedTokens: end - head - kept,
        cut: false
      }
    }
  }
  if (i === 0) {
    // The first observation alone is too long: keep its beginning and the token that opens the action.
    return { parts: [t.tokens.subarray(0, budget - 1), act], length: budget, firstStep: 0, truncatedTurns: 0, truncatedTokens: end - budget, cut: true }
  }
  // The head and the current observation alone are too long: keep the beginning of each.
  const head = Tokenized.obsStart(t, 1)
  const obsStart = Tokenized.obsStart(t, i)
  const obsLen = end - obsStart - 1 // without its closing <|act|>
  const room = budget - 2 // the gap and the <|act|> token
  const keepHead = Math.min(head, Math.max(room - obsLen, Math.ceil(room / 2)))
  const keepObs = Math.min(obsLen, room - keepHead)
  return {
    parts: [t.tokens.subarray(0, keepHead), gap, t.tokens.subarray(obsStart, obsStart + keepObs), act],
    length: keepHead + keepObs + 2,
    firstStep: i,
    truncatedTurns: i - 1,
    truncatedTokens: end - keepHead - keepObs - 1,
    cut: true
  }
}

/** One forward-pass window over consecutive steps of a trajectory. */
export interface Window {
  readonly parts: ReadonlyArray<Int32Array> // views; concatenated, the window's tokens
  readonly length: number
  readonly firstStep: number // steps firstStep..lastStep are scored in this window
  readonly lastStep: number
  readonly actions: ReadonlyArray<readonly [number, number]> // per step, [start, end) of its action in the window
  readonly truncatedTurns: number // of the window's first state
  readonly truncatedTokens: number // tokens of the window's states dropped, plus action tokens cut to fit
}

/**
 * Windows covering every step of a trajectory, each within `contextLength` tokens, for one-pass scoring and
 * training. A window starts at step m0 with `state(t, m0)` and takes the later steps whole while each one's
 * state still fits the budget and its action the context: then every step's state in the window is exactly
 * `state(t, i)` (the first step that would not fit starts a new window), so one-pass scores equal
 * per-segment scores and training sees the states sampling and evaluation act from.
 */
export const windows = (t: Tokenized.TokenizedTrajectory, contextLength: number): ReadonlyArray<Window> => {
  const n = Tokenized.stepCount(t)
  const budget = Math.max(2, contextLength - actionReserve(contextLength))
  const out: Array<Window> = []
  let m0 = 0
  while (m0 < n) {
    const s = state(t, m0, contextLength)
    const base = Tokenized.obsEnd(t, m0) // the state's last turn ends here in the trajectory's buffer
    const stateLen = s.length
    let m = m0
    let truncated = s.truncatedTokens
    if (!s.cut) {
      // extend with whole later steps while their states fit (and so equal `state`) and their actions fit
      while (
        m + 1 < n &&
        stateLen + Tokenized.obsEnd(t, m + 1) - base <= budget &&
        stateLen + Tokenized.actEnd(t, m + 1) - base <= contextLength
      ) {
        m++
        truncated += s.truncatedTokens
      }
    }
    // a lone step's action longer than the room left is cut to the context; later steps were taken only when they fit
    const end = Math.min(Tokenized.actEnd(t, m), base + contextLength - stateLen)
    const last = s.parts[s.parts.length - 1]!
    // a cut state ends with its own <|act|> part: the action follows it; otherwise the last turn runs on into the actions
    const parts = s.cut ? [...s.parts, t.tokens.subarray(base, end)] : [...s.parts.slice(0, -1), t.tokens.subarray(base - last.length, end)]
    const actions: Array<readonly [number, number]> = []
    for (let j = m0; j <= m; j++) actions.push([stateLen + Tokenized.actStart(t, j) - base, stateLen + Math.min(Tokenized.actEnd(t, j), end) - base])
    const length = stateLen + end - base
    truncated += Tokenized.actEnd(t, m) - end
    out.push({ parts, length, firstStep: m0, lastStep: m, actions, truncatedTurns: s.truncatedTurns, truncatedTokens: truncated })
    m0 = m + 1
  }
  return out
}
