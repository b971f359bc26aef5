import { Effect } from "effect"
import { parseAssistantTurn, type Step } from "../domain/Step.ts"
import type * as Tokenized from "../domain/Tokenized.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as Render from "../data/Render.ts"
import { EOA, type Tokenizer } from "../data/Tokenizer.ts"
import { Env, type EnvSession } from "../env/Env.ts"
import * as Context from "../model/Context.ts"
import * as Rng from "../model/Rng.ts"
import * as ModelSample from "../model/Sample.ts"
import * as StateCache from "../model/StateCache.ts"
import type * as Transformer from "../model/Transformer.ts"

/**
 * Episodes in an environment, many in flight at once: every live episode holds its own `Env` session;
 * at each turn the policy's actions for all live episodes are chosen together (for the model, one
 * batched, KV-cached sampling call over all their states, each episode's keys and values kept from its last
 * turn so that only its new tokens run: `StateCache`), then all the environment steps run
 * concurrently. An episode ends when the environment says done, at its step limit, or when its session
 * fails (`error:<EnvError reason>`): that episode is recorded with the reason and the others go on.
 * The model's text is parsed with `parseAssistantTurn`; its action part goes to the environment.
 * Used by evaluation (held-out tasks) and by the outcome-PPO baseline (training tasks).
 */
export type Actor =
  | { readonly kind: "model"; readonly model: Transformer.Model; readonly tokenizer: Tokenizer; readonly maxTokens: number; readonly temperature: number }
  | { readonly kind: "expert"; readonly actions: (taskId: string) => ReadonlyArray<string> }
  | { readonly kind: "random" }

/** Why an episode ended: `done`, `max_steps`, or `error:<reason>` (an EnvError reason, `ExpertExhausted`). */
export type Termination = "done" | "max_steps" | `error:${string}`

export interface Episode {
  readonly taskId: string
  readonly trajectory: Trajectory // the full transcript (source `rollout`)
  readonly reward: number // the environment's reward when done, else 0
  readonly success: boolean // done with reward >= 1
  readonly steps: number
  readonly termination: Termination
  /** For the model actor: the tokens the policy saw and sampled (its actions exactly as sampled), for PPO on rollouts. */
  readonly tokenized: Tokenized.TokenizedTrajectory | undefined
  /**
   * For the model actor, per step: the policy's per-token log-probs (temperature 1) and values of the action it sampled,
   * as the sampler gave them (`ModelSample.Samples`): PPO's old policy for these steps, so outcome PPO does not score
   * them again
   */
  readonly sampled?: { readonly logp: ReadonlyArray<Float32Array>; readonly values: ReadonlyArray<Float32Array> } | undefined
}

interface Live {
  readonly taskId: string
  readonly session: EnvSession
  readonly instruction: string
  readonly maxSteps: number
  observation: string
  readonly steps: Array<Step>
  readonly parts: Array<Int32Array> // prelude, then observation turn / action tokens per step
  readonly spans: Array<number>
  readonly logp: Array<Float32Array> // per step, the sampled action's per-token log-probs (model actor)
  readonly values: Array<Float32Array> // per step, the value head at the positions predicting them (model actor)
  cache: StateCache.Entry | undefined // the keys and values of the state the policy last sampled from (model actor)
  reward: number
  termination: Termination | undefined
}

/** The episode so far as a tokenized trajectory whose last step is the current state (its action empty). */
const current = (l: Live, obsTurn: Int32Array, env: string): Tokenized.TokenizedTrajectory => {
  const tokens = Context.flatten([...l.parts, obsTurn])
  const spans = [...l.spans, tokens.length - obsTurn.length, tokens.length, tokens.length, tokens.length]
  return { id: `rollout-${env}-${l.taskId}`, env, taskId: l.taskId, reward: l.reward, success: l.reward >= 1, tokens, spans: Int32Array.from(spans) }
}

const randomString = (rng: Rng.Rng): string => {
  const n = 1 + Math.floor(Rng.uniform(rng) * 12)
  let s = ""
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + Math.floor(Rng.uniform(rng) * 26))
  return s
}

/** Runs the episodes of `taskIds` to the end, together; results in task order. Never fails: env errors end episodes. */
export const run = Effect.fn("Rollout.run")(function*(actor: Actor, taskIds: ReadonlyArray<string>, rng: Rng.Rng, maxSteps: number | null) {
  const env = yield* Env
  const opened = yield* Effect.forEach(taskIds, (taskId) =>
    Effect.result(env.open.pipe(
      Effect.flatMap((session) =>
        session.reset(taskId).pipe(
          Effect.map((episode) => ({ session, episode })),
          Effect.tapError(() => session.close)
        )
      )
    )), { concurrency: "unbounded" })
  const all: Array<Live | Episode> = opened.map((r, i): Live | Episode => {
    const taskId = taskIds[i]!
    if (r._tag === "Failure") {
      return {
        taskId,
        trajectory: { id: `rollout-${env.name}-${taskId}`, env: env.name, taskId, instruction: "", steps: [], reward: 0, success: false, source: "rollout" },
        reward: 0,
        success: false,
        steps: 0,
        termination: `error:${r.failure.reason}`,
        tokenized: undefined
      }
    }
    const { episode, session } = r.success
    return {
      taskId,
      session,
      instruction: episode.instruction,
      maxSteps: maxSteps ?? episode.maxSteps,
      observation: episode.observation,
      steps: [],
      parts: actor.kind === "model" ? [Render.encodePrelude(actor.tokenizer, episode.instruction)] : [],
      spans: [],
      logp: [],
      values: [],
      cache: undefined,
      reward: 0,
      termination: undefined
    }
  })
  const lives = all.filter((x): x is Live => "session" in x)
  const body = Effect.gen(function*() {
    let live = lives.filter((l) => l.maxSteps > 0)
    for (const l of lives) if (l.maxSteps <= 0) l.termination = "max_steps"
    while (live.length > 0) {
      // 1. the actions of every live episode, chosen together
      let texts: Array<string>
      let sampled: Array<ReturnType<typeof ModelSample.row>> = []
      let obsTurns: Array<Int32Array> = []
      if (actor.kind === "model") {
        const ctx = actor.model.config.contextLength
        obsTurns = live.map((l) => Render.encodeObservationTurn(actor.tokenizer, l.observation))
        // the states continue the ones sampled from last turn: only their new tokens run (`StateCache`)
        const s = yield* Effect.sync(() => {
          const rows = live.map((l, i) => {
            const t = current(l, obsTurns[i]!, env.name)
            return { state: Context.flatten(Context.state(t, (t.spans.length / 4) - 1, ctx).parts), cache: l.cache }
          })
          const r = StateCache.sample(actor.model, rows, rng, {
            maxTokens: Math.min(actor.maxTokens, Context.actionReserve(ctx)),
            temperature: actor.temperature,
            stop: EOA
          })
          live.forEach((l, i) => (l.cache = r.caches[i]))
          return r.samples
        })
        sampled = live.map((_, r) => ModelSample.row(s, r))
        texts = sampled.map((a) => actor.tokenizer.decode(a.tokens))
      } else if (actor.kind === "expert") {
        texts = live.map((l) => actor.actions(l.taskId)[l.steps.length] ?? "")
      } else {
        const valid = yield* Effect.forEach(live, (l) => Effect.result(l.session.validActions), { concurrency: "unbounded" })
        texts = valid.map((v) => {
          const list = v._tag === "Success" ? v.success : undefined
          return list !== undefined && list.length > 0 ? list[Math.floor(Rng.uniform(rng) * list.length)]! : randomString(rng)
        })
      }
      // 2. every environment step, concurrently
      const parsed = texts.map(parseAssistantTurn)
      const results = yield* Effect.forEach(live, (l, i) =>
        actor.kind === "expert" && texts[i] === ""
          ? Effect.succeed(undefined)
          : Effect.result(l.session.step(parsed[i]!.action)), { concurrency: "unbounded" })
      // 3. the transcripts, and which episodes end
      live.forEach((l, i) => {
        const p = parsed[i]!
        l.steps.push({ observation: l.observation, ...p })
        if (actor.kind === "model") {
          const at = l.parts.reduce((n, x) => n + x.length, 0)
          const obs = obsTurns[i]!
          const a = sampled[i]!
          l.parts.push(obs, a.tokens)
          l.logp.push(a.logp)
          l.values.push(a.values)
          l.spans.push(at, at + obs.length, at + obs.length, at + obs.length + a.tokens.length)
        }
        const r = results[i]
        if (r === undefined) l.termination = "error:ExpertExhausted"
        else if (r._tag === "Failure") l.termination = `error:${r.failure.reason}`
        else {
          l.observation = r.success.observation
          if (r.success.done) {
            l.reward = r.success.reward
            l.termination = "done"
          } else if (l.steps.length >= l.maxSteps) l.termination = "max_steps"
        }
      })
      for (const l of live) if (l.termination !== undefined) l.cache = undefined
      live = live.filter((l) => l.termination === undefined)
    }
  })
  yield* body.pipe(Effect.ensuring(Effect.forEach(lives, (l) => l.session.close, { discard: true })))
  return all.map((x): Episode => {
    if (!("session" in x)) return x
    const done = x.termination === "done"
    const ended = x.termination !== undefined && !x.termination.startsWith("error:")
    const trajectory: Trajectory = {
      id: `rollout-${env.name}-${x.taskId}`,
      env: env.name,
      taskId: x.taskId,
      instruction: x.instruction,
      steps: x.steps,
      ...(ended ? { finalObservation: x.observation } : {}),
      reward: done ? x.reward : 0,
      success: done && x.reward >= 1,
      source: "rollout"
    }
    return {
      taskId: x.taskId,
      trajectory,
      reward: trajectory.reward,
      success: trajectory.success,
      steps: x.steps.length,
      termination: x.termination ?? "max_steps",
      tokenized: actor.kind === "model"
        ? { id: trajectory.id, env: env.name, taskId: x.taskId, reward: trajectory.reward, success: trajectory.success, tokens: Context.flatten(x.parts), spans: Int32Array.from(x.spans) }
        : undefined,
      ...(actor.kind === "model" ? { sampled: { logp: x.logp, values: x.values } } : {})
    }
  })
})
