/**
 * The tokenized form of a trajectory: one token buffer for the whole trajectory, and per-step spans
 * (token offsets) into it, so that a segment (state s_i, action a_i) is a pair of offsets, never a copy.
 *
 * Rendering (see src/data/Render.ts):
 *   <|bos|> instruction  <|obs|> o_1 <|act|> a_1 <|eoa|>  <|obs|> o_2 <|act|> a_2 <|eoa|> ... [<|obs|> o_final]
 * For step i:
 *   obsStart[i]..obsEnd[i]  the tokens of `<|obs|> o_i <|act|>` (the observation turn, ending with the
 *                           token that opens the action, so the state s_i is tokens[0, obsEnd[i]))
 *   actStart[i]..actEnd[i]  the tokens of `a_i <|eoa|>` (actStart[i] == obsEnd[i]); the model is trained
 *                           to emit <|eoa|> to end an action.
 * `spans` holds [obsStart, obsEnd, actStart, actEnd] per step, flattened. Built in memory from text
 * trajectories (Render.render); never stored (trajectory files hold text, docs/data-format.md).
 */
export interface TokenizedTrajectory {
  readonly id: string
  readonly env: string
  readonly taskId: string
  readonly reward: number
  readonly success: boolean
  /** (T,) token ids of the whole rendered trajectory. */
  readonly tokens: Int32Array
  /** (4 * steps,) [obsStart, obsEnd, actStart, actEnd] per step, offsets into `tokens`. */
  readonly spans: Int32Array
  /**
   * (steps,) 1 where the step's action is a target of imitation, 0 where it is context only (a turn flagged
   * `loss: false`, a recovery's deliberate mistake: Trajectory.actionTrained). Absent: every action is a target.
   */
  readonly actionLoss?: Uint8Array
}

export const stepCount = (t: TokenizedTrajectory): number => t.spans.length / 4
export const obsStart = (t: TokenizedTrajectory, i: number): number => t.spans[4 * i]!
export const obsEnd = (t: TokenizedTrajectory, i: number): number => t.spans[4 * i + 1]!
export const actStart = (t: TokenizedTrajectory, i: number): number => t.spans[4 * i + 2]!
export const actEnd = (t: TokenizedTrajectory, i: number): number => t.spans[4 * i + 3]!
/** Whether step i's action is trained on (SFT's targets, StepAgent's and step DPO's expert states). */
export const trained = (t: TokenizedTrajectory, i: number): boolean => t.actionLoss === undefined || t.actionLoss[i] === 1
