import { Clock, Effect, Option, Schema, Stream } from "effect"
import * as TaskId from "../domain/TaskId.ts"
import { Env } from "../env/Env.ts"
import * as Rng from "../model/Rng.ts"
import { Metrics, type MetricsError } from "../metrics/Metrics.ts"
import * as Batched from "./Batched.ts"
import * as Dispatch from "./Dispatcher.ts"
import { type DispatchError, Dispatcher } from "./Dispatcher.ts"
import * as Field from "./Field.ts"
import { Models } from "./Models.ts"
import * as Rollout from "./Rollout.ts"
import * as Run from "./Run.ts"
import { StageError } from "./StageError.ts"

/**
 * Evaluation: rolls a policy out in the `Env` service on held-out tasks (`test:<i>`), `parallel` episodes
 * in flight at once with the policy's sampling batched across them (`Rollout.run`). Emits one record per
 * episode (the full transcript as a Trajectory, reward, success, steps, termination reason) and, when the
 * task stream ends, logs `eval/avg_reward`, `eval/success_rate`, `eval/avg_steps`, `eval/error_rate`.
 * Reference policies for the same table: `expert` (the simulator's scripted expert; built-in environments
 * only, passed as `options.expert`) and `random` (uniform over the environment's valid actions where it
 * lists them, else a random string).
 */
export const Policy = Schema.Literals(["model", "expert", "random"])
export type Policy = typeof Policy.Type

export const Config = Schema.Struct({
  policy: Policy.pipe(Schema.withDecodingDefaultKey(Effect.succeed("model" as const))), // the trained policy; expert and random are reference points
  parallel: Field.int(16), // episodes in flight: one batched sampling call spans them all
  maxSteps: Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))).pipe(Schema.withDecodingDefaultKey(Effect.succeed(null))), // null: the environment's own step limit
  maxTokens: Field.int(1024), // longest action, as in sampling: by default only the room every state leaves (Context.actionReserve: 64 for `small`)
  temperature: Field.nonNegative(0) // greedy decoding: how ETO and AgentGym evaluate agents
})
export type Config = typeof Config.Type
export const defaults: Config = Schema.decodeUnknownSync(Config)({})

export type Episode = Rollout.Episode

export interface Options {
  /** The scripted expert's actions for a task (`Simulator.expert`), for the `expert` policy. */
  readonly expert?: (taskId: string) => ReadonlyArray<string>
  /** Metric name prefix: `eval/` (default); `eval/train_` for the train-split check beside the test split. */
  readonly prefix?: string
  /** Called after each wave of `parallel` episodes with the episodes done so far (progress on long evaluations). */
  readonly onWave?: (episodesDone: number) => Effect.Effect<void>
}

export const stage = "evaluate"

/** `<split>:0` .. `<split>:<n-1>`. */
export const tasks = (split: TaskId.Split, n: number, offset = 0): Stream.Stream<string> =>
  Stream.fromIterable(Array.from({ length: n }, (_, i) => TaskId.format({ split, index: offset + i })))

export interface Summary {
  readonly episodes: number
  readonly avgReward: number
  readonly successRate: number
  readonly avgSteps: number
  readonly errorRate: number
}

/** The summary of episode records (nothing in it depends on wall time). */
export const summary = (episodes: ReadonlyArray<Pick<Episode, "reward" | "success" | "steps" | "termination">>): Summary => {
  const n = episodes.length
  const sum = (f: (e: typeof episodes[number]) => number) => episodes.reduce((s, e) => s + f(e), 0)
  return {
    episodes: n,
    avgReward: n === 0 ? 0 : sum((e) => e.reward) / n,
    successRate: n === 0 ? 0 : sum((e) => e.success ? 1 : 0) / n,
    avgSteps: n === 0 ? 0 : sum((e) => e.steps) / n,
    errorRate: n === 0 ? 0 : sum((e) => e.termination.startsWith("error:") ? 1 : 0) / n
  }
}

/** Episodes per termination (`done`, `max_steps`, `error:<reason>`), keys sorted: the counts add up to the episodes. */
export const terminations = (episodes: ReadonlyArray<Pick<Episode, "termination">>): Record<string, number> => {
  const counts = new Map<string, number>()
  for (const e of episodes) counts.set(e.termination, (counts.get(e.termination) ?? 0) + 1)
  return Object.fromEntries([...counts].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
}

/** The actor of a policy: the `model` policy reads the `policy` role of `Models` when the service is present. */
export const actor = (config: Pick<Config, "policy" | "maxTokens" | "temperature">, options: Options, stageName: string) =>
  Effect.gen(function*() {
    switch (config.policy) {
      case "expert": {
        if (options.expert === undefined) {
          return yield* Effect.fail(new StageError({ reason: "BadConfig", stage: stageName, step: 0, message: `stage ${stageName}: the expert policy needs a built-in environment's scripted expert` }))
        }
        return { kind: "expert", actions: options.expert } satisfies Rollout.Actor
      }
      case "random":
        return { kind: "random" } satisfies Rollout.Actor
      case "model": {
        const models = yield* Effect.serviceOption(Models)
        if (Option.isNone(models)) {
          return yield* Effect.fail(new StageError({ reason: "MissingModel", stage: stageName, step: 0, message: `stage ${stageName}: the model policy needs the Models service` }))
        }
        const model = yield* models.value.get("policy")
        return { kind: "model", model, tokenizer: models.value.tokenizer, maxTokens: config.maxTokens, temperature: config.temperature } satisfies Rollout.Actor
      }
    }
  })

/**
 * One wave of training tasks played by the current policy (`maxTokens`, `temperature`), through the dispatcher when
 * there is one: the episodes (with their tokens when `tokens`) and how long the wave took. The training stages that
 * roll the policy out (outcome PPO, DAgger) use it.
 */
export const policyWave = (
  config: Pick<Config, "maxTokens" | "temperature">,
  stageName: string,
  ids: ReadonlyArray<string>,
  maxSteps: number | null,
  seed: number,
  tokens: boolean
) =>
  Effect.flatMap(actor({ policy: "model", ...config }, {}, stageName), (a) => Effect.timed(Dispatch.wave(a, ids, maxSteps, seed, tokens)))

/** Task ids -> one record per episode (in task order); the summary metrics are logged when the tasks end. */
export const evaluate = (config: Config, run: Run.Run, options: Options = {}) =>
<E, R>(taskIds: Stream.Stream<string, E, R>): Stream.Stream<Episode, E | StageError | MetricsError | DispatchError, R | Env | Metrics> =>
  Stream.unwrap(Effect.gen(function*() {
    const metrics = yield* Metrics
    // with a dispatcher, waves run on workers, several at once; in-process, one after another
    const dispatcher = yield* Effect.serviceOption(Dispatcher)
    const env = yield* Env
    const inFlight = config.policy === "model" && Option.isSome(dispatcher) && env.spec !== undefined ? dispatcher.value.inFlight : 1
    // small records only (the transcripts stream on), by wave: waves in flight together end in any order, and the
    // summary adds them up in task order whatever that order was
    const done: Array<ReadonlyArray<Pick<Episode, "reward" | "success" | "steps" | "termination">>> = []
    let count = 0
    const t0 = yield* Clock.currentTimeNanos
    return taskIds.pipe(
      Batched.each("Evaluate.evaluate", config.parallel, (ids: ReadonlyArray<string>, wave: number) =>
        Effect.gen(function*() {
          const a = yield* actor(config, options, stage)
          const episodes = yield* Dispatch.wave(a, ids, config.maxSteps, Run.streamSeed(run, stage, wave))
          done[wave] = episodes.map((e) => ({ reward: e.reward, success: e.success, steps: e.steps, termination: e.termination }))
          count += episodes.length
          if (options.onWave !== undefined) yield* options.onWave(count)
          return episodes
        }), inFlight
      ),
      Stream.onEnd(Effect.gen(function*() {
        const seconds = Number((yield* Clock.currentTimeNanos) - t0) / 1e9 // wall time of the whole evaluation
        const s = summary(done.flat())
        const m = options.prefix ?? "eval/"
        return yield* metrics.log({
          stage,
          iteration: run.iteration,
          step: s.episodes,
          values: {
            [`${m}avg_reward`]: s.avgReward,
            [`${m}success_rate`]: s.successRate,
            [`${m}avg_steps`]: s.avgSteps,
            [`${m}error_rate`]: s.errorRate,
            [`${m}episodes`]: s.episodes,
            [`timing/${m === "eval/" ? "evaluate" : "evaluate_train"}_s`]: seconds
          }
        })
      }))
    )
  }))
