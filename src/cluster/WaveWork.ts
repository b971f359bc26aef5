import { Effect, Semaphore } from "effect"
import * as Bpe from "../data/Bpe.ts"
import type { Tokenizer } from "../data/Tokenizer.ts"
import type { EnvSpec } from "../env/EnvSpec.ts"
import * as Registry from "../env/Registry.ts"
import type { Simulator } from "../env/Simulator.ts"
import * as PolicySnapshot from "../model/PolicySnapshot.ts"
import * as Rng from "../model/Rng.ts"
import * as ModelSample from "../model/Sample.ts"
import * as Transformer from "../model/Transformer.ts"
import * as Environment from "../pipeline/Environment.ts"
import {
  DispatchError,
  type EpisodeRecord,
  fromSampleUnit,
  fromScoreUnit,
  type SamplesRecord,
  type SampleUnit,
  type ScoresRecord,
  type ScoreUnit,
  toRecord,
  toSamplesRecord,
  type Wave
} from "../stages/Dispatcher.ts"
import * as Rollout from "../stages/Rollout.ts"
import * as Scoring from "../stages/Scoring.ts"

/**
 * What a worker does with a unit: the same `Rollout.run` a stage runs in-process, with the policy version the
 * unit names (its snapshot's bytes fetched once from `fetch`, then cached decoded) and the environment its spec
 * describes. Units run one at a time in a worker (its threads go to the one unit's batched sampling), so the cache is
 * never changed under a running unit. Where the bytes come from is the caller's: a cluster worker reads PostgreSQL
 * (`PolicyStore.fetch`), a local compute thread gets them with the unit (src/cluster/ThreadDispatcher.ts).
 */

/**
 * Model versions kept per worker: a StepAgent iteration names three at once (the policy it samples with, the frozen
 * reference, the reward model or discriminator it scores with), and units of the version before a change overlap
 * those of the next.
 */
const cacheSize = 4

interface Cached {
  readonly hash: string
  readonly model: Transformer.Model
  readonly tokenizer: Tokenizer
}

const failed = (message: string) => new DispatchError({ reason: "Failed", message })

/** What a unit or the thread's start-up can fail with: each carries its one line. */
export type Failure = { readonly message: string }

/** The bytes of the policy snapshot published under a hash (`PolicySnapshot.encode`). */
export type Fetch<R> = (hash: string) => Effect.Effect<Uint8Array, DispatchError, R>

export const make = <R>(fetch: Fetch<R>) => Effect.gen(function*() {
  const lock = yield* Semaphore.make(1)
  const policies: Array<Cached> = [] // most recent last
  const simulators = new Map<string, Simulator>()

  const policy = (hash: string): Effect.Effect<Cached, DispatchError, R> =>
    Effect.gen(function*() {
      const hit = policies.find((p) => p.hash === hash)
      if (hit !== undefined) return hit
      const bytes = yield* fetch(hash)
      const decoded = PolicySnapshot.decode(bytes, hash)
      if (typeof decoded === "string") return yield* failed(decoded)
      const tokenizer = yield* Bpe.load(decoded.tokenizerJson).pipe(
        Effect.mapError((e) => failed(`policy ${hash.slice(0, 12)}: its tokenizer: ${e.message}`)),
        Effect.tapError(() => Effect.sync(() => Transformer.dispose(decoded.model)))
      )
      const entry: Cached = { hash, model: decoded.model, tokenizer }
      policies.push(entry)
      while (policies.length > cacheSize) Transformer.dispose(policies.shift()!.model)
      return entry
    })

  const simulator = (spec: EnvSpec, name: Registry.Name): Simulator => {
    const key = `${name}/${spec.seed}`
    const known = simulators.get(key)
    if (known !== undefined) return known
    const sim = Registry.make(name, spec.seed)
    simulators.set(key, sim)
    return sim
  }

  /** A wave of episodes with the policy `hash` names, in task order. */
  const episodes = (wave: Wave, hash: string): Effect.Effect<ReadonlyArray<EpisodeRecord>, DispatchError, R> =>
    lock.withPermits(1)(Effect.gen(function*() {
      const spec = wave.env
      const name = spec.name
      if (!Registry.isName(name)) return yield* failed(`environment ${name} is not one of ${Registry.names.join(", ")}`)
      const p = yield* policy(hash)
      const actor: Rollout.Actor = { kind: "model", model: p.model, tokenizer: p.tokenizer, maxTokens: wave.maxTokens, temperature: wave.temperature }
      const pipeline = {
        env: { name, seed: spec.seed, ...(spec.url === undefined ? {} : { url: spec.url }), ...(spec.protocol === undefined ? {} : { protocol: spec.protocol }) },
        render: { instruction: spec.instruction }
      }
      const envLayer = Environment.envLayer(pipeline, spec.url === undefined ? simulator(spec, name) : undefined)
      const done = yield* Rollout.run(actor, wave.taskIds, Rng.make(wave.seed), wave.maxSteps).pipe(Effect.provide(envLayer))
      return done.map((e) => toRecord(e, wave.tokens === true))
    })).pipe(Effect.withSpan("WaveWork.episodes", { attributes: { episodes: wave.taskIds.length, policy: hash } }))

  /** A sampling batch with the policy `hash` names: `ModelSample.states` with the unit's own random stream. */
  const samples = (unit: SampleUnit, hash: string): Effect.Effect<SamplesRecord, DispatchError, R> =>
    lock.withPermits(1)(Effect.gen(function*() {
      const p = yield* policy(hash)
      const s = ModelSample.states(p.model, fromSampleUnit(unit), unit.k, Rng.make(unit.seed), { maxTokens: unit.maxTokens, temperature: unit.temperature, stop: unit.stop })
      return toSamplesRecord(s)
    })).pipe(Effect.withSpan("WaveWork.samples", { attributes: { states: unit.states.length, policy: hash } }))

  /** A scoring batch with the model `hash` names: `Scoring.compute`, as the learner would in its own process. */
  const scores = (unit: ScoreUnit, hash: string): Effect.Effect<ScoresRecord, DispatchError, R> =>
    lock.withPermits(1)(Effect.gen(function*() {
      const p = yield* policy(hash)
      return { scores: Array.from(Scoring.compute(p.model, unit.head, fromScoreUnit(unit), unit.maxTokens)) }
    })).pipe(Effect.withSpan("WaveWork.scores", { attributes: { requests: unit.requests.length, head: unit.head, policy: hash } }))

  /** Frees the cached policies' tensors (when the worker stops). */
  const close = Effect.sync(() => {
    for (const p of policies.splice(0)) Transformer.dispose(p.model)
  })

  return { episodes, samples, scores, close } as const
})
