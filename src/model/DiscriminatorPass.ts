import * as tf from "@tensorflow/tfjs"
import * as Gail from "../math/Gail.ts"
import * as ActionBatch from "./ActionBatch.ts"
import * as Discriminator from "./Discriminator.ts"
import * as GradientStep from "./GradientStep.ts"
import type * as Optimizer from "./Optimizer.ts"

/**
 * One packed forward and backward pass of a GAIL discriminator update (src/stages/InverseReward.ts), as plain data, so
 * that it can be posted to another thread and computed there (`GradientThreads`), as the other training passes
 * (`TrainingPass`). Its agent rows are pushed to D = 1, its expert rows to D = 0; `weight` is its share of the update's
 * rows times the number of passes, so that the optimizer's mean over passes is the loss of all rows in one batch when
 * every pass holds as many agent as expert rows (pairs packed together, `Packed.pack`).
 */
export interface Pass {
  readonly batch: ActionBatch.ActionBatch
  readonly agent: Int32Array // rows of `batch`
  readonly expert: Int32Array // rows of `batch`
  readonly weight: number
}

/** The update's passes from labelled batches (`Discriminator.LabelledBatch`), weighted by their rows. Pure. */
export const plan = (batches: ReadonlyArray<Discriminator.LabelledBatch>): Array<Pass> => {
  const total = batches.reduce((n, b) => n + b.agent.length + b.expert.length, 0)
  return batches.map((b) => ({ ...b, weight: ((b.agent.length + b.expert.length) / Math.max(1, total)) * batches.length }))
}

/** Statistics captured per pass (`loss`): (3,) accuracy, expert probability and agent probability, each summed over its rows. */
export const width = 3

/** The pass's loss; `capture` gets its (3,) statistics (the pass's forward, before the update, as TRL logs them). */
export const loss = (d: Discriminator.Discriminator, pass: Pass, capture: (statistics: tf.Tensor) => void): tf.Scalar =>
  tf.tidy(() => {
    const l = Discriminator.logits(d, ActionBatch.tensors(pass.batch))
    const g = Gail.discriminatorLoss(tf.gather(l, tf.tensor1d(pass.agent, "int32")) as tf.Tensor1D, tf.gather(l, tf.tensor1d(pass.expert, "int32")) as tf.Tensor1D)
    const n = pass.agent.length + pass.expert.length
    capture(tf.stack([tf.mul(g.accuracy, n), tf.mul(g.expertProb, pass.expert.length), tf.mul(g.agentProb, pass.agent.length)]))
    return tf.mul(g.loss, pass.weight) as tf.Scalar
  })

/** The update's statistics from its step's result (`width` sums over `passes`). */
export const stats = (passes: ReadonlyArray<Pass>, r: GradientStep.Result): Discriminator.TrainStats => {
  const agents = passes.reduce((n, p) => n + p.agent.length, 0)
  const experts = passes.reduce((n, p) => n + p.expert.length, 0)
  return {
    loss: r.loss,
    accuracy: r.sums[0]! / Math.max(1, agents + experts),
    expertProb: r.sums[1]! / Math.max(1, experts),
    agentProb: r.sums[2]! / Math.max(1, agents),
    gradNorm: r.gradNorm
  }
}

/** One optimizer step of D over labelled batches on this thread (gradients accumulated, one forward pass each). */
export const train = (d: Discriminator.Discriminator, opt: Optimizer.Optimizer, batches: ReadonlyArray<Discriminator.LabelledBatch>): Discriminator.TrainStats => {
  const passes = plan(batches)
  return stats(passes, GradientStep.take(opt, passes.map((p): GradientStep.Pass => (capture) => loss(d, p, capture)), width))
}
