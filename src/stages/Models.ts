import type * as tf from "@tensorflow/tfjs"
import { Context, Effect, Layer } from "effect"
import * as Bpe from "../data/Bpe.ts"
import type { Tokenizer } from "../data/Tokenizer.ts"
import * as Discriminator from "../model/Discriminator.ts"
import * as Optimizer from "../model/Optimizer.ts"
import * as Preset from "../model/Preset.ts"
import * as Transformer from "../model/Transformer.ts"
import { StageError } from "./StageError.ts"

/**
 * The run's mutable models by role, and the tokenizer they share:
 * - `policy`: π_θ, trained by SFT, PPO and the baselines (with its optimizer);
 * - `reference`: π_ref, a frozen copy of the SFT policy (KL penalty, DPO denominators);
 * - `reward`: π_φ, the implicit reward model, initialised from the SFT policy (with its optimizer);
 * - `discriminator`: D(s, a) of the inverse variant (with its optimizer).
 * The service owns what it holds: replacing a model disposes the old one, and the layer disposes every
 * model and optimizer when its scope closes. Stages read a model with `get` and use it synchronously
 * inside one compute block; `entries` hands everything to `Checkpoint.save`.
 */
export const roles = ["policy", "reference", "reward", "discriminator"] as const
export type Role = typeof roles[number]

export interface Entry {
  readonly model: Transformer.Model
  readonly optimizer?: Optimizer.Optimizer | undefined
}

/** The optimizer settings a stage asks for (the rest keep `Optimizer.defaults`). */
export type OptimizerSettings = Partial<Optimizer.Config>

export class Models extends Context.Service<Models, {
  readonly tokenizer: Tokenizer
  /** The model of a role; fails with StageError MissingModel when there is none. */
  readonly get: (role: Role) => Effect.Effect<Transformer.Model, StageError>
  readonly find: (role: Role) => Effect.Effect<Transformer.Model | undefined>
  /** Puts a model (and optionally its optimizer) in a role, disposing what it replaces. */
  readonly set: (role: Role, entry: Entry) => Effect.Effect<void>
  /**
   * The role's optimizer for these settings: the one it holds when its config matches (so Adam's state
   * carries over between batches and iterations, and across a checkpoint), else a fresh one (the old one
   * is disposed), e.g. when PPO follows SFT with another learning rate.
   */
  readonly optimizer: (role: Role, settings: OptimizerSettings) => Effect.Effect<Optimizer.Optimizer, StageError>
  /** Everything held, for checkpoints. */
  readonly entries: Effect.Effect<Readonly<Partial<Record<Role, Entry>>>>
}>()("stepagent/Models") {}

const missing = (role: Role): StageError =>
  new StageError({ reason: "MissingModel", stage: "models", step: 0, message: `no ${role} model: load a checkpoint or run the stage that makes it first` })

const sameConfig = (a: Optimizer.Config, b: Optimizer.Config): boolean =>
  (Object.keys(b) as Array<keyof Optimizer.Config>).every((k) => a[k] === b[k])

/** The service over a mutable table (exported for `layer` and tests). */
export const make = (tokenizer: Tokenizer, initial: Readonly<Partial<Record<Role, Entry>>>) => {
  const table = new Map<Role, { model: Transformer.Model; optimizer: Optimizer.Optimizer | undefined }>()
  for (const role of roles) {
    const e = initial[role]
    if (e !== undefined) table.set(role, { model: e.model, optimizer: e.optimizer })
  }
  const heldElsewhere = (role: Role, m: Transformer.Model): boolean => [...table].some(([r, e]) => r !== role && e.model === m)
  const release = (role: Role, keep: Transformer.Model | undefined): void => {
    const old = table.get(role)
    if (old === undefined) return
    if (old.optimizer !== undefined) Optimizer.dispose(old.optimizer)
    if (old.model !== keep && !heldElsewhere(role, old.model)) Transformer.dispose(old.model)
  }
  const service = Models.of({
    tokenizer,
    get: (role) => Effect.suspend(() => {
      const e = table.get(role)
      return e === undefined ? Effect.fail(missing(role)) : Effect.succeed(e.model)
    }),
    find: (role) => Effect.sync(() => table.get(role)?.model),
    set: (role, entry) =>
      Effect.sync(() => {
        const old = table.get(role)
        if (old !== undefined && old.optimizer !== undefined && old.optimizer === entry.optimizer) {
          table.set(role, { model: entry.model, optimizer: entry.optimizer })
          if (old.model !== entry.model && !heldElsewhere(role, old.model)) Transformer.dispose(old.model)
          return
        }
        release(role, entry.model)
        table.set(role, { model: entry.model, optimizer: entry.optimizer })
      }),
    optimizer: (role, settings) =>
      Effect.suspend(() => {
        const e = table.get(role)
        if (e === undefined) return Effect.fail(missing(role))
        const config = { ...Optimizer.defaults, ...settings }
        if (e.optimizer !== undefined && sameConfig(e.optimizer.config, config)) return Effect.succeed(e.optimizer)
        if (e.optimizer !== undefined) Optimizer.dispose(e.optimizer)
        const opt = Optimizer.make(Transformer.named(e.model.weights), config)
        e.optimizer = opt
        return Effect.succeed(opt)
      }),
    entries: Effect.sync(() => Object.fromEntries([...table].map(([r, e]) => [r, { model: e.model, optimizer: e.optimizer }])))
  })
  const disposeAll = (): void => {
    const models = new Set<Transformer.Model>()
    for (const e of table.values()) {
      if (e.optimizer !== undefined) Optimizer.dispose(e.optimizer)
      models.add(e.model)
    }
    for (const m of models) Transformer.dispose(m)
    table.clear()
  }
  return { service, disposeAll }
}

/** The service holding `models` (ownership passes to it: they are disposed when the layer's scope closes). */
export const layer = (options: { readonly tokenizer: Tokenizer; readonly models?: Readonly<Partial<Record<Role, Entry>>> }): Layer.Layer<Models> =>
  Layer.effect(
    Models,
    Effect.acquireRelease(
      Effect.sync(() => make(options.tokenizer, options.models ?? {})),
      (m) => Effect.sync(m.disposeAll)
    ).pipe(Effect.map((m) => m.service))
  )

/**
 * For tests: a byte-level tokenizer (no merges) and a freshly initialised `tiny` policy with its frozen
 * reference. Needs a started tensor backend (e.g. `Backend.layerTest`).
 */
export const layerTest = (options: { readonly seed: number; readonly config?: Preset.Overrides } = { seed: 0 }): Layer.Layer<Models> =>
  Layer.unwrap(Effect.sync(() => {
    const tokenizer = Bpe.fromMerges(new Int32Array(0))
    const policy = Transformer.init(Preset.config("tiny", { vocabSize: tokenizer.vocabSize, ...options.config }), options.seed)
    return layer({ tokenizer, models: { policy: { model: policy }, reference: { model: Transformer.freeze(policy) } } })
  }))

/** A trainable copy of a model (same values, independent variables): π_φ starts as a copy of the SFT policy. */
export const copy = (m: Transformer.Model): Transformer.Model => {
  const tensors = new Map(Transformer.named(m.weights).map(([n, v]) => [n, v as tf.Tensor] as const))
  return { config: m.config, weights: Transformer.fromNamed(m.config, tensors, true) }
}

/** Puts `make(policy)` in `role` unless the role already holds a model. */
export const ensure = Effect.fn("Models.ensure")(function*(role: Role, make: (policy: Transformer.Model) => Transformer.Model) {
  const models = yield* Models
  if ((yield* models.find(role)) !== undefined) return
  const policy = yield* models.get("policy")
  yield* models.set(role, { model: make(policy) })
})

/** The reference π_ref: a frozen copy of the policy as it is now (call right after SFT). */
export const ensureReference = ensure("reference", Transformer.freeze)

/** The implicit reward model π_φ: a trainable copy of the policy as it is now. */
export const ensureReward = ensure("reward", copy)

/** The discriminator as a trainable copy of the policy (the SFT trunk; its value head is D's logit). */
export const ensureDiscriminatorFromPolicy = ensure("discriminator", copy)

/** The discriminator: a fresh small transformer beside the policy (`Discriminator.config`), from a seed. */
export const ensureDiscriminator = (seed: number, overrides: Partial<Transformer.Config> = {}) =>
  ensure("discriminator", (policy) => Discriminator.init(Discriminator.config(policy.config, overrides), seed))
