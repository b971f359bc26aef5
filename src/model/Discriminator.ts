import * as tf from "@tensorflow/tfjs"
import * as Gail from "../math/Gail.ts"
import * as ActionBatch from "./ActionBatch.ts"
import * as Transformer from "./Transformer.ts"

/**
 * The inverse-RL (GAIL) discriminator D(state, action) in (0, 1): a second, smaller transformer over the
 * (state, action) sequence; its final hidden states at the action's tokens (each has seen the state and
 * the action so far) are averaged, and the transformer's scalar (value) head gives the logit. Averaging
 * over the action, rather than reading only its last token, gives the head direct access to every action
 * token and trains in far fewer steps. D -> 1 on the agent's pairs, D -> 0 on the expert's.
 * Its inputs are the same (state, action) sequences the policy scores (`Score.segmentSequence`).
 */
export type Discriminator = Transformer.Model

/** A small config next to a policy's: same vocabulary and context, a narrow 2-layer trunk. */
export const config = (policy: Transformer.Config, overrides: Partial<Transformer.Config> = {}): Transformer.Config => ({
  ...policy,
  dModel: 64, // telling expert from agent actions is an easier task than generating them
  layers: 2, // idem; keeps its training cheap next to the policy's
  heads: 4, // head width 16
  ...overrides
})

export const init = (c: Transformer.Config, seed: number): Discriminator => Transformer.init(c, seed)

/** Logits of D for every action row of a batch: (R,). Call inside tf.tidy or a loss. */
export const logits = (d: Discriminator, t: ActionBatch.Tensors): tf.Tensor1D => {
  const [R, A] = t.mask.shape
  const h = tf.gather(Transformer.forward(d, t.tokens, t.layout).hidden, t.position) // (R*A, C) at the action tokens themselves
  const w = tf.reshape(t.mask, [R, A, 1])
  const pooled = tf.div(tf.sum(tf.mul(tf.reshape(h, [R, A, -1]), w), 1), tf.maximum(tf.sum(w, 1), 1)) // (R, C)
  return Transformer.value(d, pooled as tf.Tensor2D)
}

/** D(s, a) for every row, as numbers. */
export const probabilities = (d: Discriminator, b: ActionBatch.ActionBatch): Float32Array => {
  const p = tf.tidy(() => tf.sigmoid(logits(d, ActionBatch.tensors(b))))
  const out = p.dataSync() as Float32Array
  p.dispose()
  return out
}

/** The GAIL step reward r(s, a) = -log D(s, a) for every row. */
export const rewards = (d: Discriminator, b: ActionBatch.ActionBatch): Float32Array => {
  const r = tf.tidy(() => Gail.reward(logits(d, ActionBatch.tensors(b))))
  const out = r.dataSync() as Float32Array
  r.dispose()
  return out
}

export interface TrainStats {
  readonly loss: number // loss/disc
  readonly accuracy: number // disc/accuracy
  readonly expertProb: number // disc/expert_prob
  readonly agentProb: number // disc/agent_prob
  readonly gradNorm: number
}

/** A forward pass's batch with its agent rows (pushed to 1) and expert rows (pushed to 0): `DiscriminatorPass` trains on them. */
export interface LabelledBatch {
  readonly batch: ActionBatch.ActionBatch
  readonly agent: Int32Array // rows of `batch`
  readonly expert: Int32Array // rows of `batch`
}

/** One batch of agent and expert sequences as a labelled batch (each sequence one row: agent rows first). */
export const labelled = (agent: ReadonlyArray<ActionBatch.Sequence>, expert: ReadonlyArray<ActionBatch.Sequence>): LabelledBatch => ({
  batch: ActionBatch.build([...agent, ...expert]),
  agent: Int32Array.from(agent, (_, i) => i),
  expert: Int32Array.from(expert, (_, i) => agent.length + i)
})
