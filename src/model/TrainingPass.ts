import type * as tf from "@tensorflow/tfjs"
import * as DiscriminatorPass from "./DiscriminatorPass.ts"
import * as DpoPass from "./DpoPass.ts"
import * as PpoPass from "./PpoPass.ts"
import * as SftPass from "./SftPass.ts"
import type * as Transformer from "./Transformer.ts"

/**
 * A forward and backward pass of any training stage that shares its passes between threads (`GradientThreads`), as
 * plain data: SFT's (`SftPass`), a DPO update's (`DpoPass`: the implicit reward model, step DPO), PPO's (`PpoPass`) and the
 * GAIL discriminator's (`DiscriminatorPass`).
 * The same loss code runs on the learner and on a helper, so a pass's gradient does not depend on where it ran.
 */
export type Pass =
  | { readonly kind: "sft"; readonly pass: SftPass.Pass }
  | { readonly kind: "dpo"; readonly pass: DpoPass.Pass }
  | { readonly kind: "ppo"; readonly pass: PpoPass.Pass }
  | { readonly kind: "discriminator"; readonly pass: DiscriminatorPass.Pass }

/** The pass's loss on `model`; `capture` gets its statistics vector (each kind's own, see its module). */
export const loss = (model: Transformer.Model, p: Pass, capture: (statistics: tf.Tensor) => void): tf.Scalar => {
  switch (p.kind) {
    case "sft":
      return SftPass.loss(model, p.pass, capture)
    case "dpo":
      return DpoPass.loss(model, p.pass, capture)
    case "ppo":
      return PpoPass.loss(model, p.pass, capture)
    case "discriminator":
      return DiscriminatorPass.loss(model, p.pass, capture)
  }
}

/** Padded tokens of the pass: what its compute grows with (threads share passes by it). */
export const cost = (p: Pass): number => p.pass.batch.batch * p.pass.batch.length
