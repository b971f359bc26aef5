import { Context, Deferred, Effect, Exit, Layer, Queue } from "effect"
import { EOA } from "../data/Tokenizer.ts"
import { actionReserve } from "../model/Context.ts"
import * as Rng from "../model/Rng.ts"
import * as Sample from "../model/Sample.ts"
import type * as Transformer from "../model/Transformer.ts"
import * as ApiError from "./ApiError.ts"
import type * as ChatPrompt from "./ChatPrompt.ts"

/**
 * The policy's sampler behind the server: requests wait in a queue, and one worker fiber takes every request
 * waiting and samples them together, one `Sample.sample` call (prefill and KV-cached decode, batched) per group
 * of requests with the same settings, synchronously: the model's tensors live and die inside that call and never
 * cross an async boundary, and no two calls ever overlap. While a batch runs the event loop is held, so the
 * requests that arrive meanwhile form the next batch: the batch grows with the load. Before a batch starts, the
 * worker lets the requests already received finish reading and parsing (`admit` counts them; an event-loop turn
 * at a time, at most `maxSettleTurns`), so that requests sent together are sampled together; a lone request waits
 * one turn (microseconds). There is no timed waiting window.
 *
 * Randomness: every request has its own generator, from its `seed` (OpenAI's field) or, without one, split from
 * the server's stream (`seed` of the layer) in arrival order; its n completions draw from it in row order
 * (`Sample.Rngs`), so what a seeded request gets does not depend on the requests batched with it. Temperature 0
 * is greedy and draws nothing: with one request at a time it is exactly what `stepagent eval` samples (the same
 * call, the same state). Batched, a row's arithmetic sees other rows' padding: results agree to float rounding.
 */
export interface Settings {
  readonly n: number
  readonly temperature: number
  readonly topK: number
  readonly topP: number
  /** Longest completion; capped by the room the context leaves for an action (`Context.actionReserve`), as in evaluation. */
  readonly maxTokens: number | undefined
  readonly seed: number | undefined
}

/** One completion as the sampler produced it. */
export interface Sampled {
  readonly tokens: Int32Array // the sampled ids, <|eoa|> last when `stopped`
  readonly logp: Float32Array // per token, log π(token | state, earlier tokens) at temperature 1 (the unfiltered policy)
  readonly stopped: boolean // false: cut by maxTokens or the context
}

export class Completions extends Context.Service<Completions, {
  /**
   * Runs the reading and parsing of a received request (`parse`), counting it as arriving meanwhile: a batch about to
   * start waits for it (its `sample` call, right after, joins the batch).
   */
  readonly admit: <A, E, R>(parse: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** `settings.n` completions of the state `prompt` (in row order). Fails with a 500 ApiError when the model fails. */
  readonly sample: (prompt: ChatPrompt.Prompt, settings: Settings) => Effect.Effect<ReadonlyArray<Sampled>, ApiError.ApiError>
  /** Sampling calls made and requests answered so far, and the most requests one call held. */
  readonly stats: Effect.Effect<Stats>
}>()("stepagent/Completions") {}

export interface Stats {
  readonly calls: number
  readonly requests: number
  readonly largest: number
}

export interface Options {
  /** The server's stream for requests without a seed. */
  readonly seed?: number
  /** Most rows (completions) per sampling call (default 64: the decode batch and its caches stay small). */
  readonly maxRows?: number
  /** Most padded prompt tokens per call's prefill (default 8,192, as `Sample.states`: bounds its attention's memory). */
  readonly maxPrefillTokens?: number
  /** Event-loop turns a batch waits at most for admitted requests (default 64: a body of a few MB is read in fewer). */
  readonly maxSettleTurns?: number
}

/** One turn of the event loop: pending I/O (requests received meanwhile) is handled before this resumes. */
const nextTurn: Effect.Effect<void> = Effect.callback<void>((resume) => {
  const h = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(h))
})

interface Job {
  readonly prompt: ChatPrompt.Prompt
  readonly n: number
  readonly rng: Rng.Rng
  readonly options: Required<Sample.Options>
  readonly done: Deferred.Deferred<ReadonlyArray<Sampled>, ApiError.ApiError>
}

const key = (o: Required<Sample.Options>): string => `${o.maxTokens}/${o.temperature}/${o.topK}/${o.topP}`

/** Jobs in calls of at most `maxRows` rows and `maxPrefill` padded prompt tokens, in arrival order (a lone job always fits). */
const calls = (jobs: ReadonlyArray<Job>, maxRows: number, maxPrefill: number): Array<Array<Job>> => {
  const out: Array<Array<Job>> = []
  let current: Array<Job> = []
  let rows = 0
  let longest = 0
  for (const j of jobs) {
    const wider = Math.max(longest, j.prompt.state.length)
    if (current.length > 0 && (rows + j.n > maxRows || (current.length + 1) * wider > maxPrefill)) {
      out.push(current)
      current = []
      rows = 0
    }
    current.push(j)
    rows += j.n
    longest = current.length === 1 ? j.prompt.state.length : Math.max(longest, j.prompt.state.length)
  }
  if (current.length > 0) out.push(current)
  return out
}

/** One sampling call over jobs of the same settings: per job its n completions. Synchronous. */
export const sampleJobs = (model: Transformer.Model, jobs: ReadonlyArray<Pick<Job, "prompt" | "n" | "rng">>, options: Sample.Options): Array<Array<Sampled>> => {
  const prefixes = jobs.map((j) => j.prompt.state.parts)
  const prompts = jobs.flatMap((j, p) => Array.from({ length: j.n }, () => ({ prefix: p, length: j.prompt.state.length })))
  const rngs = jobs.flatMap((j) => Array.from({ length: j.n }, () => j.rng))
  const s = Sample.sample(model, prefixes, prompts, rngs, options)
  let r = 0
  return jobs.map((j) =>
    Array.from({ length: j.n }, () => {
      const { tokens, logp } = Sample.row(s, r)
      const row = { tokens, logp, stopped: s.stopped[r] === 1 }
      r++
      return row
    })
  )
}

const failed = (cause: unknown) =>
  new ApiError.ApiError({
    status: 500,
    type: "server_error",
    message: `the model failed on this request: ${cause instanceof Error ? cause.message.split("\n")[0] : String(cause)}`,
    param: null,
    code: null
  })

/** The service over `model`; its worker fiber lives as long as the layer. */
export const layer = (model: Transformer.Model, options: Options = {}): Layer.Layer<Completions> =>
  Layer.effect(Completions, Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Job>()
    const server = Rng.make(options.seed ?? 0)
    const maxRows = options.maxRows ?? 64
    const maxPrefill = options.maxPrefillTokens ?? 8192
    const maxSettle = options.maxSettleTurns ?? 64
    const reserve = actionReserve(model.config.contextLength)
    let arriving = 0 // requests admitted and not yet queued (or refused)
    let stats: Stats = { calls: 0, requests: 0, largest: 0 }
    const run = (group: ReadonlyArray<Job>) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(Effect.try({ try: () => sampleJobs(model, group, group[0]!.options), catch: failed }))
        stats = { calls: stats.calls + 1, requests: stats.requests + group.length, largest: Math.max(stats.largest, group.length) }
        yield* Effect.forEach(group, (j, i) => Deferred.done(j.done, Exit.map(exit, (out) => out[i]!)), { discard: true })
      })
    const worker = Effect.gen(function*() {
      const first = yield* Queue.take(queue)
      // the requests received while the last batch held the event loop: read and parse them, and take them along
      yield* nextTurn
      for (let turn = 1; turn < maxSettle && arriving > 0; turn++) yield* nextTurn
      const jobs = [first, ...(yield* Queue.clear(queue))]
      const groups = new Map<string, Array<Job>>()
      for (const j of jobs) groups.set(key(j.options), [...(groups.get(key(j.options)) ?? []), j])
      for (const group of groups.values()) {
        for (const call of calls(group, maxRows, maxPrefill)) yield* run(call)
      }
    }).pipe(Effect.forever)
    yield* Effect.forkScoped(worker)
    return Completions.of({
      admit: (parse) =>
        Effect.suspend(() => {
          arriving++
          return Effect.ensuring(parse, Effect.sync(() => arriving--))
        }),
      stats: Effect.sync(() => stats),
      sample: Effect.fn("Completions.sample")(function*(prompt: ChatPrompt.Prompt, s: Settings) {
        const done = yield* Deferred.make<ReadonlyArray<Sampled>, ApiError.ApiError>()
        const options = { maxTokens: Math.min(s.maxTokens ?? reserve, reserve), temperature: s.temperature, topK: s.topK, topP: s.topP, stop: EOA }
        const rng = s.seed === undefined ? Rng.split(server) : Rng.make(s.seed)
        yield* Queue.offer(queue, { prompt, n: s.n, rng, options, done })
        return yield* Deferred.await(done)
      })
    })
  }))
