import { Console, Effect, Layer, Option, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import * as Cluster from "../cluster/Cluster.ts"
import * as ClusterDispatcher from "../cluster/ClusterDispatcher.ts"
import * as TrajectoryArrow from "../data/TrajectoryArrow.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as Registry from "../env/Registry.ts"
import * as Metrics from "../metrics/Metrics.ts"
import * as Environment from "../pipeline/Environment.ts"
import * as Progress from "../pipeline/Progress.ts"
import * as Evaluate from "../stages/Evaluate.ts"
import * as Models from "../stages/Models.ts"
import * as BackendCommand from "./BackendCommand.ts"
import * as EnvFlags from "./EnvFlags.ts"
import * as PolicyCheckpoint from "./PolicyCheckpoint.ts"
import * as RunCommand from "./RunCommand.ts"
import * as UserError from "./UserError.ts"

/**
 * `stepagent eval --checkpoint <dir> --env E [--env-url URL [--env-protocol openenv]] --split test --n N [--json]`, or
 * `--policy expert|random` for reference points (no checkpoint). The model's waves of 16 episodes run on `--eval-threads`
 * local threads (default: every core on wasm), or with `--cluster URL` on the cluster's workers (`stepagent worker`),
 * with the same results. Rolls the policy out on tasks
 * `<split>:O .. <split>:O+N-1` (`--offset O`, default 0) and prints `{avgReward, successRate, episodes, ...}`; `--episodes FILE` also writes every
 * episode's transcript (as a run's eval/episodes.arrows).
 */
export const command = Command.make("eval", {
  checkpoint: Flag.String("checkpoint").pipe(Flag.withDescription("a checkpoint directory (runs/<run>/checkpoints/unit-NNNN), or a run directory, its checkpoints/ or checkpoints/LATEST for the latest"), Flag.optional),
  policy: Flag.Literals("policy", ["model", "expert", "random"]).pipe(Flag.withDescription("model (the checkpoint's policy; default), or the expert / random reference points"), Flag.withDefault("model" as const)),
  env: EnvFlags.env,
  seed: EnvFlags.seed,
  envUrl: Flag.String("env-url").pipe(Flag.withDescription("an environment server to evaluate against instead of the built-in simulator (AgentGym's protocol unless --env-protocol openenv); several, comma-separated, share the sessions"), Flag.optional),
  envProtocol: Flag.Literals("env-protocol", ["agentgym", "openenv"]).pipe(
    Flag.withDescription("what --env-url speaks: agentgym (HTTP: AgentGym's servers, env serve; default) or openenv (WebSocket sessions on /ws: OpenEnv's servers, env serve --protocol openenv)"),
    Flag.withDefault("agentgym" as const)
  ),
  split: Flag.Literals("split", ["train", "test"]).pipe(Flag.withDescription("task split (default test: held-out tasks)"), Flag.withDefault("test" as const)),
  n: Flag.Int("n").pipe(Flag.withDescription("episodes (tasks <split>:offset .. <split>:offset+n-1); default 200"), Flag.withDefault(200)),
  // a long SFT recipe trains from train:100 on (pipelines/experiment.ts longSft): `--split train --offset 100` asks
  // whether it fits tasks it was cloned on (the ladder's second rung, ../shared/SCIENCE.md), train:0-99 whether it
  // generalises to unseen train tasks
  offset: Flag.Int("offset").pipe(Flag.withDescription("index of the first task (default 0): e.g. --split train --offset 100 for train tasks a run trained on"), Flag.withDefault(0)),
  json: Flag.Boolean("json").pipe(Flag.withDescription("print one JSON object"), Flag.withDefault(false)),
  episodes: Flag.String("episodes").pipe(Flag.withDescription("also write every episode's transcript to this .arrows file (as a run's eval/episodes.arrows: stepagent data inspect reads it)"), Flag.optional),
  cluster: RunCommand.clusterFlag,
  ...BackendCommand.flags,
  evalThreads: BackendCommand.evalThreads
}, ({ checkpoint, cluster, env, envProtocol, envUrl, episodes: episodesPath, json, n, offset, policy, seed, split, ...flags }) =>
  Effect.gen(function*() {
    const sim = Registry.make(env, seed)
    const url = Option.getOrUndefined(envUrl)
    if (offset < 0) return yield* UserError.fail(`--offset ${offset}: a task index is 0 or more`)
    if (url === undefined && offset + n > sim.size(split)) {
      return yield* UserError.fail(`${offset === 0 ? "" : `--offset ${offset} `}--n ${n}: the ${env} ${split} split has ${sim.size(split)} tasks`)
    }
    const badUrl = url === undefined ? undefined : Environment.urlProblem(url, envProtocol)
    if (badUrl !== undefined) return yield* UserError.fail(`--env-url ${badUrl}`)
    if (policy === "model" && Option.isNone(checkpoint)) return yield* UserError.fail("--checkpoint <dir> is needed for --policy model (or use --policy expert|random)")
    const badCluster = Option.isSome(cluster) ? Cluster.urlProblem(cluster.value) : undefined
    if (badCluster !== undefined) return yield* UserError.fail(`--cluster ${badCluster}`)
    let models: Layer.Layer<Models.Models> | undefined
    let instruction: "keep" | "drop" = "keep"
    if (Option.isSome(checkpoint)) {
      const loaded = yield* PolicyCheckpoint.load(checkpoint.value)
      instruction = loaded.instruction
      models = Models.layer({ tokenizer: loaded.tokenizer, models: { policy: { model: loaded.model } } })
    }
    const cfg: Evaluate.Config = { ...Evaluate.defaults, policy }
    // the one simulator: its expert, its split sizes and (without --env-url) its episodes
    const envLayer = Environment.envLayer({ env: { name: env, seed, ...(url === undefined ? {} : { url, protocol: envProtocol }) }, render: { instruction } }, sim)
    // progress on stderr (a bar on a terminal, a line every ~15 s otherwise): house and shop episodes take minutes
    const bar = yield* (yield* Progress.Progress).start(`eval ${env} ${split}`, n)
    let reported = 0
    const onWave = (done: number) =>
      Effect.suspend(() => {
        const delta = done - reported
        reported = done
        return bar.advance(delta, `${done} episodes`)
      })
    const program = Evaluate.tasks(split, n, offset).pipe(
      Evaluate.evaluate(cfg, { seed: 0, iteration: 0 }, { ...(url === undefined ? { expert: (task: string) => sim.expert(task) } : {}), onWave }),
      Stream.runCollect,
      Effect.provide(Layer.mergeAll(envLayer, Metrics.layerNone))
    )
    const dispatched = Option.isSome(cluster) ? Effect.provide(program, ClusterDispatcher.layer(cluster.value)) : program
    const episodes = Array.from(models === undefined ? yield* dispatched : yield* Effect.provide(dispatched, models))
    yield* bar.done
    if (Option.isSome(episodesPath)) {
      const path = episodesPath.value
      yield* Stream.fromIterable(episodes).pipe(
        Stream.map((e): Trajectory => ({ ...e.trajectory, reward: e.reward, success: e.success, source: `eval:${e.termination}` })),
        TrajectoryArrow.write(path),
        Effect.mapError((e) => new UserError.CommandError(`--episodes ${path}: ${e.message.split("\n")[0]}`))
      )
    }
    const s = Evaluate.summary(episodes)
    const summary = { avgReward: s.avgReward, successRate: s.successRate, episodes: s.episodes, avgSteps: s.avgSteps, errorRate: s.errorRate, env, split, offset, policy }
    const tasks = offset === 0 ? split : `${split}:${offset}-${offset + n - 1}`
    yield* Console.log(json ? JSON.stringify(summary) : `${policy} on ${env} ${tasks}: avg reward ${s.avgReward.toFixed(3)}, success ${(100 * s.successRate).toFixed(1)}% over ${s.episodes} episodes`)
  }).pipe(Effect.provide(RunCommand.services(flags)))
).pipe(Command.withDescription("Evaluate a checkpoint (or the expert / a random policy) on held-out tasks"))
