/**
 * Renders a trajectory to tokens, per the layout in src/domain/Tokenized.ts:
 *
 *   <|bos|> instruction  <|obs|> o_1 <|act|> a_1 <|eoa|>  ...  <|obs|> o_n <|act|> a_n <|eoa|>  [<|obs|> o_final]
 *
 * where a_i is `renderAction(step)` (thought and action, as the assistant turn). No separators are
 * added: the special tokens mark every boundary. The turn encoders are exported so that sampling and
 * evaluation build prompts exactly as training saw them.
 */
import { renderAction } from "../domain/Step.ts"
import type { TokenizedTrajectory } from "../domain/Tokenized.ts"
import { actionTrained, type Trajectory } from "../domain/Trajectory.ts"
import { ACT, BOS, EOA, OBS, type Tokenizer } from "./Tokenizer.ts"

/** `<|bos|> instruction`: the start of every rendered trajectory. */
export const encodePrelude = (tokenizer: Tokenizer, instruction: string): Int32Array => wrap(BOS, tokenizer.encode(instruction), -1)

/** `<|obs|> text <|act|>`: an observation turn, ending with the token that opens the action. */
export const encodeObservationTurn = (tokenizer: Tokenizer, observation: string): Int32Array => wrap(OBS, tokenizer.encode(observation), ACT)

/** `text <|eoa|>`: an action turn (the text is `renderAction(step)`). */
export const encodeActionTurn = (tokenizer: Tokenizer, action: string): Int32Array => wrap(-1, tokenizer.encode(action), EOA)

/** `<|obs|> text`: an observation after the last action (no action follows it). */
export const encodeFinalObservation = (tokenizer: Tokenizer, observation: string): Int32Array => wrap(OBS, tokenizer.encode(observation), -1)

/** The texts of a trajectory that rendering encodes, in order: the tokenizer's training corpus. */
export const texts = (trajectory: Trajectory): Array<string> => {
  const out = [trajectory.instruction]
  for (const step of trajectory.steps) out.push(step.observation, renderAction(step))
  if (trajectory.finalObservation !== undefined) out.push(trajectory.finalObservation)
  return out
}

/**
 * The whole trajectory as one token buffer with [obsStart, obsEnd, actStart, actEnd] per step.
 *
 * `actions[i]`, when given, is step i's action turn as the policy produced it (its sampled ids, `<|eoa|>` included
 * when it stopped) and is used as it is instead of encoding the step's text: a policy's own action, decoded and
 * encoded again, need not give back the ids it sampled (a byte-level BPE merges what the model wrote byte by byte),
 * so a conversation with the policy's turns is rendered from their ids (evaluation's rollouts, the policy server).
 */
export const render = (tokenizer: Tokenizer, trajectory: Trajectory, actions?: ReadonlyArray<Int32Array | undefined>): TokenizedTrajectory => {
  const parts: Array<Int32Array> = [encodePrelude(tokenizer, trajectory.instruction)]
  const spans = new Int32Array(4 * trajectory.steps.length)
  let at = parts[0]!.length
  trajectory.steps.forEach((step, i) => {
    const obs = encodeObservationTurn(tokenizer, step.observation)
    const act = actions?.[i] ?? encodeActionTurn(tokenizer, renderAction(step))
    spans[4 * i] = at
    spans[4 * i + 1] = at + obs.length
    spans[4 * i + 2] = at + obs.length
    spans[4 * i + 3] = at + obs.length + act.length
    parts.push(obs, act)
    at += obs.length + act.length
  })
  if (trajectory.finalObservation !== undefined) {
    const fin = encodeFinalObservation(tokenizer, trajectory.finalObservation)
    parts.push(fin)
    at += fin.length
  }
  const tokens = new Int32Array(at)
  let o = 0
  for (const p of parts) {
    tokens.set(p, o)
    o += p.length
  }
  const loss = Uint8Array.from(trajectory.steps, (_, i) => (actionTrained(trajectory, i) ? 1 : 0))
  return {
    id: trajectory.id,
    env: trajectory.env,
    taskId: trajectory.taskId,
    reward: trajectory.reward,
    success: trajectory.success,
    tokens,
    spans,
    ...(loss.includes(0) ? { actionLoss: loss } : {})
  }
}

/** `before ids after`, where -1 means no token. */
const wrap = (before: number, ids: Int32Array, after: number): Int32Array => {
  const head = before < 0 ? 0 : 1
  const out = new Int32Array(head + ids.length + (after < 0 ? 0 : 1))
  if (head === 1) out[0] = before
  out.set(ids, head)
  if (after >= 0) out[out.length - 1] = after
  return out
}
