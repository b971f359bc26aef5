import * as tf from "@tensorflow/tfjs"
import type * as ActionBatch from "./ActionBatch.ts"
import * as Copy from "./Copy.ts"
import * as Transformer from "./Transformer.ts"

/**
 * The differentiable outputs of the policy on the action tokens of a batch: what scoring reads and what
 * training losses (SFT, PPO, DPO) are built from. The LM, copy and value heads run only at the N positions that
 * predict action tokens (`ActionBatch.entries`), not at every position nor on the (R, A) layout's padding; their
 * results are spread onto (R, A) with zeros on padding. Call inside tf.tidy (or a tf.variableGrads loss).
 */
export interface Outputs {
  readonly entryLogits: tf.Tensor2D // (N, V) the LM head's next-token logits at the entries (without the copy head's share)
  readonly entryMask: tf.Tensor1D // (N,) 1 on real entries (0 only on the stand-in of a batch without action tokens)
  readonly logp: tf.Tensor2D // (R, A) log pi(token | prefix), 0 on padding (the copy head's mixture when the model has one)
  readonly values: tf.Tensor2D // (R, A) value head at the positions predicting each token, 0 on padding; values[:, 0] = V(state)
  readonly mask: tf.Tensor2D // (R, A) 1 on action tokens
}

export const outputs = (m: Transformer.Model, t: ActionBatch.Tensors): Outputs => {
  const f = Transformer.forward(m, t.tokens, t.layout)
  const h = tf.gather(f.hidden, t.index) // (N, C)
  const logits = Transformer.logits(m, h) // (N, V)
  const vocabLogp = tokenLogp(logits, t.target) // (N,)
  const copy = m.weights.copy
  const [B, T] = t.tokens.shape
  const mixed = copy === undefined || t.copy === undefined ? vocabLogp : Copy.targetLogp(copy, f.hidden, h, vocabLogp, t.copy, B, T)
  // (N,) -> (R, A): entry values at their slots, 0 on padding (the gradient of a gather is a segment sum)
  const spread = (x: tf.Tensor1D): tf.Tensor2D => tf.reshape(tf.gather(tf.concat([x, tf.zeros([1])]), t.spread), [t.rows, t.width])
  return {
    entryLogits: logits,
    entryMask: t.entryMask,
    logp: spread(mixed),
    values: spread(Transformer.value(m, h)),
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
