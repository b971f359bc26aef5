import * as tf from "@tensorflow/tfjs"

/**
 * GAIL discriminator maths (pure). D(s, a) = sigmoid(logit) is trained towards 1 on the agent's pairs and
 * towards 0 on the expert's, maximising E_agent[log D] + E_expert[log(1 - D)]; as a loss to minimise:
 *   L = E_agent[-log D] + E_expert[-log(1 - D)] = E_agent[softplus(-logit)] + E_expert[softplus(logit)]
 * The agent's step reward is r(s, a) = -log D(s, a) = softplus(-logit): high where D takes it for the expert.
 */
export interface DiscriminatorLoss {
  readonly loss: tf.Scalar // loss/disc
  readonly accuracy: tf.Scalar // disc/accuracy: agent pairs with D > 0.5 and expert pairs with D < 0.5
  readonly expertProb: tf.Scalar // disc/expert_prob: mean D on expert pairs (-> 0)
  readonly agentProb: tf.Scalar // disc/agent_prob: mean D on agent pairs (-> 1)
}

export const discriminatorLoss = (
  agentLogits: tf.Tensor1D, // (Na,)
  expertLogits: tf.Tensor1D // (Ne,)
): DiscriminatorLoss => {
  const na = agentLogits.shape[0]
  const ne = expertLogits.shape[0]
  const correct = tf.add(
    tf.sum(tf.cast(tf.greater(agentLogits, 0), "float32")),
    tf.sum(tf.cast(tf.less(expertLogits, 0), "float32"))
  )
  return {
    loss: tf.add(tf.mean(tf.softplus(tf.neg(agentLogits))), tf.mean(tf.softplus(expertLogits))) as tf.Scalar,
    accuracy: tf.div(correct, na + ne) as tf.Scalar,
    expertProb: tf.mean(tf.sigmoid(expertLogits)) as tf.Scalar,
    agentProb: tf.mean(tf.sigmoid(agentLogits)) as tf.Scalar
  }
}

/** r(s, a) = -log D(s, a) = softplus(-logit). (B,) -> (B,) */
export const reward = (logits: tf.Tensor1D): tf.Tensor1D => tf.softplus(tf.neg(logits))
