import { Effect, Option, Schema, Stream } from "effect"
import { EOA } from "../data/Tokenizer.ts"
import * as ModelSample from "../model/Sample.ts"
import * as SampleParts from "../model/SampleParts.ts"
import { Metrics, type MetricsError } from "../metrics/Metrics.ts"
import * as Batched from "./Batched.ts"
import { type DispatchError, Dispatcher, toSampleUnit } from "./Dispatcher.ts"
import * as Field from "./Field.ts"
import { Models } from "./Models.ts"
import * as Run from "./Run.ts"
import * as SharedSample from "./SharedSample.ts"
import type { Segment } from "./Segment.ts"
import type { StageError } from "./StageError.ts"
import * as Timed from "./Timed.ts"

/**
 * Phase 2 of StepAgent (inspection): at every expert state the current policy samples its own action
 * a_i^θ ~ π_θ(·|s_i), k per state. No environment is needed: the states come from the expert, so the
 * states of a batch are sampled together, and the states of one trajectory share one prefill
 * (`Sample.states` cuts them from one sequence). A batch is sampled in `parts` (whole trajectories, `SampleParts`),
 * shared by the training threads (`SharedSample`). Randomness: one stream per (seed, iteration, batch, part), so that a
 * batch samples the same actions wherever it runs (on any number of threads, in this process, or on cluster workers
 * when a `Dispatcher` is present).
 */
export const Config = Schema.Struct({
  k: Field.int(1), // samples per state: the paper samples one action per expert state
  batchSize: Field.int(64), // segments per sampling call: a few trajectories' steps share one batched decode
  maxTokens: Field.int(1024), // longest action, <|eoa|> included: by default only the room every state leaves (Context.actionReserve: 64 for `small`)
  temperature: Field.nonNegative(1), // sample from the policy itself: PPO's ratios and the reward's contrast assume on-policy samples
  // a batch's sampling cut into at most this many parts (whole trajectories, each part its own random stream:
  // SampleParts), so that two training threads (`--train-threads 2`) sample one each; the actions do not depend on the
  // thread count. 1: one stream for the batch, the sampling before 2026-12-07 (twenty-fourth session)
  parts: Field.int(2)
})
export type Config = typeof Config.Type
export const defaults: Config = Schema.decodeUnknownSync(Config)({})

/** One agent action sampled at an expert state. */
export interface AgentAction {
  readonly segment: Segment
  readonly sample: number // j in 0..k-1
  readonly tokens: Int32Array // the sampled tokens, ending with <|eoa|> when `stopped`
  readonly logp: Float32Array // per-token log π_θ(token | state, earlier tokens) at sampling time (temperature 1)
  readonly values: Float32Array // per-token value head at sampling time, at the position predicting each token
  readonly stopped: boolean // false: cut by maxTokens or the context
  readonly text: string // the decoded action (specials dropped)
}

export const stage = "sample"

/** Segments -> k agent actions each, in segment order. Logs `sample/*`, `context/*`, `perf/tokens_per_s`, `timing/sample_s` per batch. */
export const sample = (config: Config, run: Run.Run) =>
<E, R>(segments: Stream.Stream<Segment, E, R>): Stream.Stream<AgentAction, E | StageError | MetricsError | DispatchError, R | Models | Metrics> =>
  Stream.unwrap(Effect.map(Effect.serviceOption(Dispatcher), (dispatcher) => {
    const remote = Option.isSome(dispatcher) ? dispatcher.value.samples : undefined
    return segments.pipe(Batched.each("Sample.sample", config.batchSize, (segs: ReadonlyArray<Segment>, index: number) =>
      Effect.gen(function*() {
        const models = yield* Models
        const metrics = yield* Metrics
        const policy = yield* models.get("policy")
        // each part of each batch its own random stream: the same actions on any number of threads, in this process or
        // on any worker (the first part's is the batch's stream of `parts: 1`)
        const options = { maxTokens: config.maxTokens, temperature: config.temperature, stop: EOA }
        const parts = SampleParts.parts(segs, config.parts, config.k, options, (g) => Run.streamSeed(run, g === 0 ? stage : `${stage}/part${g}`, index))
        const { value: s, seconds } = remote === undefined
          ? yield* Timed.effect(SharedSample.states(policy, parts))
          : yield* Timed.effect(Effect.map(
            Effect.all(parts.map((p) => remote(toSampleUnit(p.requests, { k: p.k, ...options, seed: p.seed }), { model: policy, tokenizer: models.tokenizer })), { concurrency: "unbounded" }),
            ModelSample.concat
          ))
        const out: Array<AgentAction> = []
        let tokens = 0
        let stopped = 0
        for (let r = 0; r < s.rows; r++) {
          const row = ModelSample.row(s, r)
          tokens += row.tokens.length
          stopped += s.stopped[r]!
          out.push({
            segment: segs[Math.floor(r / config.k)]!,
            sample: r % config.k,
            ...row,
            stopped: s.stopped[r] === 1,
            text: models.tokenizer.decode(row.tokens)
          })
        }
        yield* metrics.log({
          stage,
          iteration: run.iteration,
          step: index + 1,
          values: {
            "sample/actions": s.rows,
            "sample/mean_tokens": tokens / Math.max(1, s.rows),
            "sample/stopped_frac": stopped / Math.max(1, s.rows),
            "context/truncated_tokens": s.truncatedTokens,
            "context/truncated_turns": s.truncatedTurns,
            "perf/tokens_per_s": seconds > 0 ? tokens / seconds : 0,
            "timing/sample_s": seconds
          }
        })
        return out
      })
      // one batch at a time, also on a cluster: downstream, PPO updates the policy batch by batch, and each batch is
      // sampled with the policy of that moment (a worker gets that version), as in one process
    ))
  }))
