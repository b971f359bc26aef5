import * as tf from "@tensorflow/tfjs"
import * as HostAdam from "./HostAdam.ts"
import * as HostArray from "./HostArray.ts"

/**
 * Adam (AdamW-style decoupled weight decay) on tf variables, with global-norm gradient clipping and a
 * learning-rate schedule (linear warmup, then constant, linear or cosine decay). Its state (the step and
 * both moments of every variable) is plain variables, so checkpoints save and restore it exactly.
 */
export interface Config {
  readonly learningRate: number // peak learning rate
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
  readonly weightDecay: number // decoupled, on matrices only (not biases, gains or the value bias)
  readonly clipNorm: number // global gradient norm cap; 0 = no clipping
  readonly warmupSteps: number
  readonly totalSteps: number // end of the decay; 0 = no decay
  readonly schedule: "constant" | "linear" | "cosine"
  readonly minLearningRateRatio: number // the decay ends at learningRate * this
}

export const defaults: Config = {
  learningRate: 1e-4, // small-model fine-tuning rate; SFT from scratch sets more (e.g. 1e-3)
  beta1: 0.9, // PyTorch / TRL default
  beta2: 0.999, // PyTorch / TRL default
  epsilon: 1e-8, // PyTorch default
  weightDecay: 0, // TRL's default: RL fine-tuning does not decay
  clipNorm: 1, // TRL's max_grad_norm
  warmupSteps: 0, // no warmup unless asked
  totalSteps: 0, // constant learning rate unless a horizon is given
  schedule: "cosine", // used when totalSteps > 0: nanoGPT's choice
  minLearningRateRatio: 0.1 // nanoGPT decays to a tenth of the peak
}

export interface Slot {
  readonly name: string
  readonly variable: tf.Variable
  readonly m: tf.Variable // first moment, same shape
  readonly v: tf.Variable // second moment
}

export interface Optimizer {
  readonly config: Config
  /** Steps taken so far (the next step is step + 1). Mutable: `minimize` advances it. */
  step: number
  readonly slots: ReadonlyArray<Slot>
}

export const make = (variables: ReadonlyArray<readonly [string, tf.Variable]>, config: Partial<Config> = {}): Optimizer => ({
  config: { ...defaults, ...config },
  step: 0,
  slots: variables.map(([name, variable]) => ({
    name,
    variable,
    // tidy frees the zeros: a variable holds its own reference to the data
    m: tf.tidy(() => tf.variable(tf.zerosLike(variable), false)),
    v: tf.tidy(() => tf.variable(tf.zerosLike(variable), false))
  }))
})

export const dispose = (o: Optimizer): void => {
  for (const s of o.slots) {
    s.m.dispose()
    s.v.dispose()
  }
}

/** The learning rate at step `step` (1-based: the first update is step 1). */
export const learningRate = (c: Config, step: number): number => {
  if (c.warmupSteps > 0 && step <= c.warmupSteps) return c.learningRate * step / c.warmupSteps
  if (c.totalSteps <= 0 || c.schedule === "constant") return c.learningRate
  const span = Math.max(1, c.totalSteps - c.warmupSteps)
  const progress = Math.min(1, Math.max(0, (step - c.warmupSteps) / span))
  const floor = c.learningRate * c.minLearningRateRatio
  const shape = c.schedule === "linear" ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress))
  return floor + (c.learningRate - floor) * shape
}

export interface StepResult {
  readonly loss: number // mean over the micro-batches
  readonly gradNorm: number // global norm before clipping
  readonly learningRate: number
}

/** One pass's contribution to an update: its loss and the gradient of every slot's variable (undefined: not reached). */
export interface PassGradients {
  readonly value: tf.Scalar
  readonly grads: ReadonlyArray<tf.Tensor | undefined> // in `slots` order
}

/** The loss `f` and its gradients with respect to the optimizer's variables (call inside tf.tidy). */
export const gradients = (o: Optimizer, f: () => tf.Scalar): PassGradients => {
  const { grads, value } = tf.variableGrads(f, o.slots.map((s) => s.variable))
  return { value, grads: o.slots.map((s) => grads[s.variable.name]) }
}

/**
 * One update: gradients of the loss (averaged over micro-batches when several loss functions are given,
 * for batches too large for one pass), clipped to `clipNorm`, then an Adam step. Variables the loss does
 * not reach are left alone (as PyTorch does for parameters without a gradient).
 */
export const minimize = (o: Optimizer, loss: (() => tf.Scalar) | ReadonlyArray<() => tf.Scalar>): StepResult => {
  const losses = typeof loss === "function" ? [loss] : loss
  return apply(o, losses.length, (i) => gradients(o, losses[i]!))
}

/** One pass's loss and gradients as plain arrays (in `slots` order; null or undefined: not reached). */
export interface ArrayGradients {
  readonly value: number
  readonly grads: ReadonlyArray<Float32Array | null | undefined>
}

/**
 * Whether updates run as plain-array maths (`HostAdam`): on the wasm and cpu backends, whose tensors live in host
 * memory (there one JS loop beats ~900 small kernels); on TensorFlow (and a GPU) the update stays in tensor ops, where
 * the weights live. Every update in a process takes the same path, so the numbers do not depend on which thread
 * computed a pass.
 */
export const hostMaths = (): boolean => {
  const backend = tf.getBackend()
  return backend === "wasm" || backend === "cpu"
}

/**
 * The update of `minimize` from `passes` passes' gradients, however they were computed (`pass(i)` is called once per
 * pass, in order, inside a tf.tidy). They are summed in pass order, so the same per-pass gradients give the same
 * update to the bit whichever thread computed each (`applyArrays` from arrays: the same update).
 */
export const apply = (o: Optimizer, passes: number, pass: (i: number) => PassGradients): StepResult =>
  hostMaths()
    ? applyHost(o, Array.from({ length: passes }, (_, i) => read(() => pass(i))))
    : applyTensors(o, passes, pass)

/** `apply` from gradients already read into arrays (another thread's, or this one's before an await). */
export const applyArrays = (o: Optimizer, passes: ReadonlyArray<ArrayGradients>): StepResult =>
  hostMaths()
    ? applyHost(o, passes)
    : applyTensors(o, passes.length, (i) => {
      const c = passes[i]!
      return {
        value: tf.scalar(c.value),
        grads: o.slots.map((s, k) => {
          const g = c.grads[k]
          return g === null || g === undefined ? undefined : tf.tensor(g, s.variable.shape)
        })
      }
    })

/** A pass's gradients read into arrays, its tensors freed. */
const read = (pass: () => PassGradients): ArrayGradients => {
  let out: ArrayGradients = { value: 0, grads: [] }
  tf.tidy(() => {
    const p = pass()
    out = { value: p.value.dataSync()[0]!, grads: p.grads.map((g) => g === undefined ? null : HostArray.read(g)) }
  })
  return out
}

/**
 * Host copies of a slot's weight and moments (`HostAdam` updates them in place), valid while the three variables still
 * hold the data this code last wrote: anything else that assigns them (a checkpoint restored, a guarded update taken
 * back) gives them new data, and the copies are read again. Saves reading ~3x the weights out of the backend each
 * step, and the garbage that makes (on `small`, 12 MB a step: a full GC of the learner's heap about every step).
 */
interface Mirror {
  readonly data: readonly [tf.DataId, tf.DataId, tf.DataId]
  readonly w: Float32Array
  readonly m: Float32Array
  readonly v: Float32Array
}
const mirrors = new WeakMap<Slot, Mirror>()

const valid = (s: Slot): Mirror | undefined => {
  const found = mirrors.get(s)
  return found !== undefined && found.data[0] === s.variable.dataId && found.data[1] === s.m.dataId && found.data[2] === s.v.dataId
    ? found
    : undefined
}

/** The optimizer's weights as arrays, in slot order: its host copies where they are current (read, never written). */
export const weights = (o: Optimizer): Array<Float32Array> => o.slots.map((s) => valid(s)?.w ?? HostArray.read(s.variable))

/** Per slot, the buffer its averaged gradient is summed into (reused: a step's sums are spent within the step). */
const scratch = new WeakMap<Optimizer, Array<Float32Array>>()

const applyHost = (o: Optimizer, passes: ReadonlyArray<ArrayGradients>): StepResult => {
  const c = o.config
  o.step += 1
  const lr = learningRate(c, o.step)
  const into = scratch.get(o) ?? o.slots.map((s) => new Float32Array(s.variable.size))
  scratch.set(o, into)
  const { grads: sums, norm: gradNorm } = HostAdam.average(passes.map((p) => p.grads), o.slots.length, into)
  const scale = HostAdam.clipScale(gradNorm, c.clipNorm)
  const hyper: HostAdam.Hyper = { ...c, learningRate: lr, step: o.step }
  o.slots.forEach((s, k) => {
    const g = sums[k]
    if (g === null || g === undefined) return
    const { w, m, v } = valid(s) ?? { w: HostArray.read(s.variable), m: HostArray.read(s.m), v: HostArray.read(s.v) }
    HostAdam.update(w, m, v, g, scale, hyper, s.variable.rank >= 2)
    tf.tidy(() => {
      s.m.assign(HostArray.tensor(m, s.m.shape))
      s.v.assign(HostArray.tensor(v, s.v.shape))
      s.variable.assign(HostArray.tensor(w, s.variable.shape))
    })
    mirrors.set(s, { data: [s.variable.dataId, s.m.dataId, s.v.dataId], w, m, v })
  })
  // the mean loss, summed in pass order in float32 as a tensor would (no losses: a step that moves nothing)
  let total = 0
  for (const p of passes) total = Math.fround(total + p.value)
  return { loss: passes.length === 0 ? 0 : Math.fround(total / passes.length), gradNorm, learningRate: lr }
}

/** The update as tensor ops (TensorFlow backends: the weights stay where they live); exported for the test that both paths agree. */
export const applyTensors = (o: Optimizer, passes: number, pass: (i: number) => PassGradients): StepResult => {
  const c = o.config
  o.step += 1
  const t = o.step
  const lr = learningRate(c, t)
  const stats = tf.tidy(() => {
    let total: tf.Scalar = tf.scalar(0)
    const sums: Array<tf.Tensor | undefined> = o.slots.map(() => undefined)
    for (let p = 0; p < passes; p++) {
      const { grads, value } = pass(p)
      total = tf.add(total, value)
      grads.forEach((g, k) => {
        if (g === undefined) return
        const prev = sums[k]
        sums[k] = prev === undefined ? g : tf.add(prev, g)
      })
    }
    const n = passes
    const grads = sums.map((g) => g === undefined ? undefined : n === 1 ? g : tf.div(g, n))
    const present = grads.filter((g): g is tf.Tensor => g !== undefined)
    const norm = present.length === 0 ? tf.scalar(0) : tf.sqrt(tf.addN(present.map((g) => tf.sum(tf.mul(g, g)))))
    const scale = c.clipNorm > 0 ? tf.minimum(1, tf.div(c.clipNorm, tf.add(norm, 1e-6))) : tf.scalar(1)
    const bc1 = 1 - Math.pow(c.beta1, t)
    const bc2 = 1 - Math.pow(c.beta2, t)
    o.slots.forEach((s, i) => {
      const raw = grads[i]
      if (raw === undefined) return
      const g = tf.mul(raw, scale)
      const m = tf.add(tf.mul(s.m, c.beta1), tf.mul(g, 1 - c.beta1))
      const v = tf.add(tf.mul(s.v, c.beta2), tf.mul(tf.mul(g, g), 1 - c.beta2))
      s.m.assign(m)
      s.v.assign(v)
      let update: tf.Tensor = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), c.epsilon))
      if (c.weightDecay > 0 && s.variable.rank >= 2) update = tf.add(update, tf.mul(s.variable, c.weightDecay))
      s.variable.assign(tf.sub(s.variable, tf.mul(update, lr)))
    })
    return tf.stack([n === 0 ? total : tf.div(total, n), norm]) // no losses (a batch with nothing to learn): a step that moves nothing
  })
  const [lossValue, gradNorm] = stats.dataSync() as Float32Array
  stats.dispose()
  return { loss: lossValue!, gradNorm: gradNorm!, learningRate: lr }
}
