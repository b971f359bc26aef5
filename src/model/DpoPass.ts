import * as tf from "@tensorflow/tfjs"
import * as Dpo from "../math/Dpo.ts"
import * as ActionBatch from "./ActionBatch.ts"
import * as Policy from "./Policy.ts"
import type * as Transformer from "./Transformer.ts"

/**
 * One packed forward and backward pass of a step-level DPO update (src/stages/Preference.ts), as plain data, so that it
 * can be posted to another thread and computed there (`GradientThreads`). The pass holds `pairs` pairs: pair j's chosen
 * (expert) action is row `chosenIx[j]` of the batch, its rejected (agent) action row `rejectedIx[j]`, with the frozen
 * reference's summed log-probs of both.
 */
export interface Pass {
  readonly batch: ActionBatch.ActionBatch
  readonly chosenIx: Int32Array // (k,)
  readonly rejectedIx: Int32Array // (k,)
  readonly refChosen: Float32Array // (k,) log π_ref(a_e|s)
  readonly refRejected: Float32Array // (k,) log π_ref(a|s)
  readonly beta: number
  readonly weight: number // the pass's share of the update: k / N times the number of passes (the optimizer averages passes)
  readonly nllCoef: number // RPO's α (0: plain DPO)
  readonly nllTokens: number // the chosen tokens of the whole update over the number of passes: the NLL term's divisor
}

/**
 * The pass's loss; `capture` gets (4 + 2k,): [accuracy, margin, chosen reward, rejected reward] summed over its pairs,
 * then the pairs' log π(a_e|s) (k,) and log π(a|s) (k,) under the weights of this forward pass (the reward model's
 * held-out log-probs of pairs it has not trained on yet: `Preference.update`'s `logps`).
 */
export const loss = (m: Transformer.Model, pass: Pass, capture: (statistics: tf.Tensor) => void): tf.Scalar =>
  tf.tidy(() => {
    const k = pass.chosenIx.length
    const o = Policy.outputs(m, ActionBatch.tensors(pass.batch, m.config.copyHead === true))
    const sums = tf.sum(o.logp, 1) // (R,)
    const chosen = tf.gather(sums, tf.tensor1d(pass.chosenIx, "int32")) as tf.Tensor1D // (k,)
    const rejected = tf.gather(sums, tf.tensor1d(pass.rejectedIx, "int32")) as tf.Tensor1D // (k,)
    const l = Dpo.loss(
      chosen,
      rejected,
      tf.tensor1d(pass.refChosen),
      tf.tensor1d(pass.refRejected),
      pass.beta
    )
    const statistics = tf.mul(tf.stack([l.accuracy, l.margin, tf.mean(l.chosenReward), tf.mean(l.rejectedReward)]), k)
    capture(tf.concat([statistics, chosen, rejected])) // (4 + 2k,): not part of the loss, so no gradient flows through it
    const dpo = tf.mul(l.loss, pass.weight) as tf.Scalar
    if (pass.nllCoef === 0) return dpo
    // RPO: + α * the chosen actions' mean token NLL (over all chosen tokens of the step), against likelihood displacement
    const nll = tf.div(tf.neg(tf.sum(chosen)), pass.nllTokens)
    return tf.add(dpo, tf.mul(pass.nllCoef, nll)) as tf.Scalar
  })
