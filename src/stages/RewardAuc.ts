import type { AgentAction } from "./Sample.ts"
import * as Segment from "./Segment.ts"

/**
 * `reward/auc` (../shared/SCIENCE.md): at expert states the reward model has not trained on yet, the
 * probability that the step reward ranks the expert's action above an agent action that differs from it
 * (ties count half, so a reward that says nothing scores 0.5). Pairs where the agent wrote the expert's
 * action carry no ranking and are left out. Pure.
 */
export interface Auc {
  readonly auc: number // NaN when no pair differs
  readonly pairs: number // differing pairs counted
}

/** Whether the agent's action differs from the expert's at its state (tokens compared, <|eoa|> included). */
export const differs = (a: AgentAction): boolean => {
  const n = Segment.expertAction(a.segment).length
  return a.tokens.length !== n || Segment.expertPrefix(a.segment, a.tokens) !== n
}

export const auc = (expert: ArrayLike<number>, agent: ArrayLike<number>, counted: ReadonlyArray<boolean>): Auc => {
  let n = 0
  let score = 0
  for (let i = 0; i < counted.length; i++) {
    if (!counted[i]) continue
    n++
    score += expert[i]! > agent[i]! ? 1 : expert[i]! === agent[i]! ? 0.5 : 0
  }
  return { auc: n === 0 ? Number.NaN : score / n, pairs: n }
}

/** The metrics of a batch: `reward/auc` only when some pair differs (a NaN would stop the run's guard). */
export const metrics = (a: Auc): Record<string, number> =>
  a.pairs === 0 ? { "reward/auc_pairs": 0 } : { "reward/auc": a.auc, "reward/auc_pairs": a.pairs }
