import * as tf from "@tensorflow/tfjs"

/**
 * Step-level DPO (pure tensor maths). Chosen = the expert's action, rejected = the agent's, at the same state.
 *   h = beta * [(log pi(a_e|s) - log ref(a_e|s)) - (log pi(a|s) - log ref(a|s))]
 *   L = -E[log sigmoid(h)] = E[softplus(-h)]
 * All inputs are (B,) summed log-probabilities of whole actions.
 */
export interface DpoLoss {
  readonly loss: tf.Scalar // loss/dpo
  readonly accuracy: tf.Scalar // dpo/accuracy: share of pairs where the chosen reward exceeds the rejected
  readonly margin: tf.Scalar // dpo/margin: mean(chosen reward - rejected reward)
  readonly chosenReward: tf.Tensor1D // (B,) beta * (log pi - log ref) of the chosen action
  readonly rejectedReward: tf.Tensor1D // (B,)
}

export const loss = (
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  refChosen: tf.Tensor1D,
  refRejected: tf.Tensor1D,
  beta: number
): DpoLoss => {
  const chosenReward = implicitReward(policyChosen, refChosen, beta)
  const rejectedReward = implicitReward(policyRejected, refRejected, beta)
  const h = tf.sub(chosenReward, rejectedReward)
  return {
    loss: tf.mean(tf.softplus(tf.neg(h))) as tf.Scalar,
    accuracy: tf.mean(tf.cast(tf.greater(chosenReward, rejectedReward), "float32")) as tf.Scalar,
    margin: tf.mean(h) as tf.Scalar,
    chosenReward,
    rejectedReward
  }
}

/** The implicit step reward r(s, a) = beta * (log pi_phi(a|s) - log pi_ref(a|s)). (B,) -> (B,) */
export const implicitReward = (logp: tf.Tensor1D, refLogp: tf.Tensor1D, beta: number): tf.Tensor1D =>
  tf.mul(beta, tf.sub(logp, refLogp))
