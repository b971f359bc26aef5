import { Stream } from "effect"
import * as Tokenized from "../domain/Tokenized.ts"

/**
 * Phase 1 of StepAgent (inspection): cut an expert trajectory after every expert action. Step i has the
 * state s_i = (instruction, o_1, a_1, ..., o_i) = tokens[0, obsEnd[i]) and the expert action
 * a_i = tokens[actStart[i], actEnd[i]). A segment is a view (trajectory, step index): nothing is copied.
 */
export interface Segment {
  readonly trajectory: Tokenized.TokenizedTrajectory
  readonly step: number
}

/**
 * Every segment of one trajectory, in step order: the steps whose action is the expert's (an action flagged as
 * no target, such as a recovery's deliberate mistake, is context for the later states, never an expert state).
 */
export const all = (trajectory: Tokenized.TokenizedTrajectory): Array<Segment> =>
  Array.from({ length: Tokenized.stepCount(trajectory) }, (_, step) => ({ trajectory, step })).filter((s) => Tokenized.trained(trajectory, s.step))

/** Trajectories -> their segments, trajectory by trajectory, step by step. */
export const segment = <E, R>(trajectories: Stream.Stream<Tokenized.TokenizedTrajectory, E, R>): Stream.Stream<Segment, E, R> =>
  trajectories.pipe(Stream.map(all), Stream.flattenIterable)

/** The expert's action tokens at a segment (a view, <|eoa|> included). */
export const expertAction = (s: Segment): Int32Array =>
  s.trajectory.tokens.subarray(Tokenized.actStart(s.trajectory, s.step), Tokenized.actEnd(s.trajectory, s.step))

/** How many leading tokens of `tokens` (an agent action at the segment's state) repeat the expert's action there. */
export const expertPrefix = (s: Segment, tokens: Int32Array): number => {
  const expert = expertAction(s)
  const n = Math.min(expert.length, tokens.length)
  let k = 0
  while (k < n && tokens[k] === expert[k]) k++
  return k
}

/** A stable name for a segment in records and reports: `<trajectory id>#<step>`. */
export const key = (s: Segment): string => `${s.trajectory.id}#${s.step}`
