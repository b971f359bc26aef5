import * as tf from "@tensorflow/tfjs"
import type * as ActionBatch from "./ActionBatch.ts"
import * as Copy from "./Copy.ts"
import * as Transformer from "./Transformer.ts"

/**
 * The differentiable outputs of the policy on the action tokens of a batch: what scoring reads and what
 * training losses (SFT, PPO, DPO) are built from. The LM head runs only at the R*A positions that predict
 * action tokens, not at every position. Call inside tf.tidy (or a tf.variableGrads loss).
 */
export interface Outputs {
  readonly logits: tf.Tensor3D // (R, A, V) the LM head's next-token logits at the positions predicting action tokens (without the copy head's share)
  readonly logp: tf.Tensor2D // (R, A) log pi(token | prefix), 0 on padding (the copy head's mixture when the model has one)
  readonly values: tf.Tensor2D // (R, A) value head at the same positions; values[:, 0] = V(state)
  readonly mask: tf.Tensor2D // (R, A) 1 on action tokens
}

export const outputs = (m: Transformer.Model, t: ActionBatch.Tensors): Outputs => {
  const [R, A] = t.target.shape
  const f = Transformer.forward(m, t.tokens, t.layout)
  const h = tf.gather(f.hidden, t.index) // (R*A, C)
  const logits = Transformer.logits(m, h) // (R*A, V)
  const vocabLogp = tokenLogp(logits, tf.reshape(t.target, [-1])) // (R*A,)
  const copy = m.weights.copy
  const [B, T] = t.tokens.shape
  const mixed = copy === undefined || t.copy === undefined ? vocabLogp : Copy.targetLogp(copy, f.hidden, h, vocabLogp, t.copy, B, T)
  const logp = tf.mul(mixed, tf.reshape(t.mask, [-1])) // (R*A,)
  return {
    logits: tf.reshape(logits, [R, A, -1]),
    logp: tf.reshape(logp, [R, A]),
    values: tf.reshape(Transformer.value(m, h), [R, A]),
    mask: t.mask
  }
}

/**
 * log softmax(logits)[target] per row: (N, V), (N,) -> (N,). Hand-written gradient, dy * (onehot - softmax):
 * autodiff of logSumExp goes through max's gradient, a broadcast Equal over (N, V) that is slow on wasm.
 */
export const tokenLogp = (logits: tf.Tensor2D, target: tf.Tensor1D): tf.Tensor1D =>
  pickLogp(logits, tf.oneHot(target, logits.shape[1])) as tf.Tensor1D

const pickLogp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [logits, onehot, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc]
  save([logits, onehot]) // the softmax is recomputed in the backward pass: scoring never pays for it
  return {
    value: tf.sub(tf.sum(tf.mul(logits, onehot), -1), tf.logSumExp(logits, -1)), // (N,)
    gradFunc: (dy: tf.Tensor, saved: Array<tf.Tensor>) => {
      const [sl, soh] = saved as [tf.Tensor2D, tf.Tensor2D]
      const p = tf.softmax(sl) // (N, V)
      return [tf.mul(tf.reshape(dy, [-1, 1]), tf.sub(soh, p)), tf.zerosLike(soh)]
    }
  }
})
