import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { Console, Effect, Layer, Option, Schema, Stream } from "effect"
import * as Bpe from "../data/Bpe.ts"
import * as Render from "../data/Render.ts"
import type { Tokenizer } from "../data/Tokenizer.ts"
import * as TrajectoryArrow from "../data/TrajectoryArrow.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as AgentGymClient from "../env/AgentGymClient.ts"
import * as Builtin from "../env/Builtin.ts"
import { Env } from "../env/Env.ts"
import * as Expert from "../env/Expert.ts"
import * as Registry from "../env/Registry.ts"
import type { Simulator } from "../env/Simulator.ts"
import { Backend, describe } from "../model/backend/Backend.ts"
import * as Checkpoint from "../model/Checkpoint.ts"
import type { CheckpointError } from "../model/CheckpointError.ts"
import * as Preset from "../model/Preset.ts"
import * as Transformer from "../model/Transformer.ts"
import * as ActionAccuracy from "../stages/ActionAccuracy.ts"
import * as Evaluate from "../stages/Evaluate.ts"
import * as Models from "../stages/Models.ts"
import * as OutcomePpo from "../stages/OutcomePpo.ts"
import type { Rewarded } from "../stages/Rewarded.ts"
import * as Run from "../stages/Run.ts"
import * as Segment from "../stages/Segment.ts"
import * as Sft from "../stages/Sft.ts"
import * as Shuffle from "../stages/Shuffle.ts"
import * as StepAgent from "../stages/StepAgent.ts"
import * as StepDpo from "../stages/StepDpo.ts"
import * as Failpoint from "../fault/Failpoint.ts"
import * as Metrics from "../metrics/Metrics.ts"
import * as Pipeline from "./Pipeline.ts"
import { PipelineError, schemaIssueLine } from "./PipelineError.ts"
import * as Progress from "./Progress.ts"
import * as Report from "../report/Report.ts"
import * as RunDir from "../report/RunDir.ts"
import * as RunState from "./RunState.ts"
import * as StageEntry from "./StageEntry.ts"

/**
 * Runs a pipeline in a run directory (docs/run-directory.md), one unit of work at a time (an SFT epoch,
 * a StepAgent iteration, an evaluation): after each unit the models are checkpointed atomically and
 * state.json records the unit and the length of metrics.jsonl. Every random stream of a unit derives from
 * (pipeline seed, stage index, iteration), never from carried-over state, so `resume` reruns the first
 * unfinished unit from the last checkpoint and reproduces the uninterrupted run bit for bit on the same backend.
 */

export interface Unit {
  readonly index: number // global, in pipeline order
  readonly stageIndex: number
  readonly iteration: number // repetition of the stage
  readonly entry: StageEntry.StageEntry
}

export const units = (p: Pipeline.Pipeline): ReadonlyArray<Unit> => {
  const out: Array<Unit> = []
  p.stages.forEach((entry, stageIndex) => {
    for (let iteration = 0; iteration < StageEntry.repetitions(entry); iteration++) out.push({ index: out.length, stageIndex, iteration, entry })
  })
  return out
}

/** The seed of a stage's random streams: distinct per stage entry, fixed by the pipeline seed. */
const stageSeed = (p: Pipeline.Pipeline, stageIndex: number): number => (Math.imul(p.seed + 1, 0x9e3779b1) + stageIndex * 7919) | 0

const hashOf = (config: unknown): string => NodeCrypto.createHash("sha256").update(JSON.stringify(config)).digest("hex").slice(0, 16)

const ioError = (path: string, e: unknown) =>
  new PipelineError({ reason: "RunDirectory", message: `${path}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}` })

const sync = <A>(path: string, f: () => A) => Effect.try({ try: f, catch: (e) => ioError(path, e) })

// ---------------------------------------------------------------------------------------------------
// Data

/** The pipeline's expert trajectories, streamed from its files, as the model sees them (instruction rule applied). */
export const trajectories = (p: Pipeline.Pipeline): Stream.Stream<Trajectory, PipelineError> => {
  const files = Stream.fromIterable(p.data.train).pipe(Stream.flatMap((path) => TrajectoryArrow.read(path)))
  const all = p.data.generate === undefined ? files : Stream.concat(files, generated(p, p.data.generate))
  const limited = p.data.limit === undefined ? all : Stream.take(all, p.data.limit)
  return limited.pipe(
    Stream.map((t) => p.render.instruction === "drop" ? { ...t, instruction: "" } : t),
    Stream.mapError((e) => new PipelineError({ reason: "MissingDataset", message: e.message }))
  )
}

/** Expert trajectories generated in-process: trajectory k is train task floor(k / S) of world seeds[k % S]. */
const generated = (p: Pipeline.Pipeline, g: { readonly n: number; readonly seeds?: ReadonlyArray<number> | undefined; readonly thoughts?: boolean | undefined }) =>
  Stream.suspend(() => {
    const seeds = g.seeds ?? [p.env.seed]
    const sims = new Map<number, ReturnType<typeof Registry.make>>()
    const sim = (seed: number) => {
      let s = sims.get(seed)
      if (s === undefined) sims.set(seed, s = Registry.make(p.env.name, seed))
      return s
    }
    const n = Math.min(g.n, seeds.length * sim(seeds[0]!).size("train"))
    return Stream.range(0, n - 1).pipe(
      Stream.map((k) => {
        const seed = seeds[k % seeds.length]!
        return Expert.trajectory(sim(seed), `train:${Math.floor(k / seeds.length)}`, { thoughts: g.thoughts === true, seed })
      })
    )
  })

const countTrajectories = (p: Pipeline.Pipeline) => Stream.runCount(trajectories(p))

/**
 * Trajectories [start, start + n) of the range [lo, hi) of the data, cycling within the range: a StepAgent
 * iteration's window. One pass over the files.
 */
const window = (p: Pipeline.Pipeline, tok: Tokenizer, range: readonly [number, number], start: number, n: number) => {
  const [lo, hi] = range
  const size = hi - lo
  const take = Math.min(n, size)
  const begin = start % size
  const inWindow = (i: number) => i >= lo && i < hi && ((i - lo - begin + size) % size) < take
  return trajectories(p).pipe(
    Stream.take(hi),
    Stream.zipWithIndex,
    Stream.filter(([, i]) => inWindow(i)),
    Stream.map(([t]) => Render.render(tok, t))
  )
}

/** Trajectories held in a shuffle buffer: at least every SFT set the shipped pipelines use, so each epoch is a full permutation. */
const shuffleBuffer = 20_000

/** The trajectories an SFT entry trains on: [offset, offset + trajectories) of the data, clipped to it. */
const sftRange = (e: { readonly offset: number; readonly trajectories?: number | undefined }, total: number): readonly [number, number] => {
  const lo = Math.min(e.offset, total)
  return [lo, e.trajectories === undefined ? total : Math.min(total, lo + e.trajectories)]
}

/**
 * The held-out pool that improvement stages (StepAgent, step DPO) draw expert trajectories from: from `poolOffset`
 * when the entry names it, else after the last trajectory the pipeline's first SFT stage trained on, as the paper's
 * inspection stage intends (the agent acts at expert states it was not cloned on). When nothing is left after
 * that point, the pool is all the data.
 */
export const poolRange = (p: Pipeline.Pipeline, entry: { readonly poolOffset?: number | undefined }, total: number): readonly [number, number] => {
  const first = p.stages.find((e) => e.stage === "sft")
  const start = entry.poolOffset ?? (first !== undefined && first.stage === "sft" ? sftRange(first, total)[1] : 0)
  return start < total ? [start, total] : [0, total]
}

const trainTokenizer = (p: Pipeline.Pipeline) =>
  Effect.gen(function*() {
    if (p.tokenizer.path !== undefined) {
      return yield* Bpe.loadFile(p.tokenizer.path).pipe(
        Effect.mapError((e) => new PipelineError({ reason: "MissingDataset", message: e.message }))
      )
    }
    const counts = Bpe.wordCounts({})
    yield* trajectories(p).pipe(Stream.runForEach((t) => Effect.sync(() => Render.texts(t).forEach((s) => counts.add(s)))))
    return yield* Bpe.fromCounts(counts, { vocabSize: p.tokenizer.vocab }).pipe(
      Effect.mapError((e) => new PipelineError({ reason: "InvalidConfig", message: `tokenizer: ${e.message}` }))
    )
  })

// ---------------------------------------------------------------------------------------------------
// Environment

/** The pipeline's environment: the built-in simulator, or an AgentGym server when `env.url` is set. */
export const envLayer = (p: Pick<Pipeline.Pipeline, "env" | "render">): Layer.Layer<Env> => {
  const base = p.env.url !== undefined
    ? AgentGymClient.layer({ baseUrl: p.env.url, env: p.env.name })
    : Builtin.layer(Registry.make(p.env.name, p.env.seed))
  if (p.render.instruction === "keep") return base
  // The policy never saw the constant prompt in training: leave it out of its states in rollouts too.
  return Layer.effect(Env, Effect.gen(function*() {
    const env = yield* Env
    return Env.of({
      ...env,
      open: Effect.map(env.open, (s) => ({ ...s, reset: (task: string) => Effect.map(s.reset(task), (e) => ({ ...e, instruction: "" })) }))
    })
  })).pipe(Layer.provide(base))
}

// ---------------------------------------------------------------------------------------------------
// Units

interface Context {
  readonly runDir: string
  readonly pipeline: Pipeline.Pipeline
  readonly tokenizer: Tokenizer
  readonly total: number // trajectories in the data
  readonly note: (status: string) => Effect.Effect<void> // progress inside a unit (a plain line when one is due)
}

const evalOutputs = (
  ctx: Context,
  entry: typeof StageEntry.EvaluateEntry.Type,
  episodes: ReadonlyArray<Evaluate.Episode>,
  extra: {
    readonly train?: ReadonlyArray<Evaluate.Episode>
    readonly validation?: { readonly world: number; readonly episodes: ReadonlyArray<Evaluate.Episode> }
    readonly actionAccuracy?: ActionAccuracy.Result
  }
) =>
  Effect.gen(function*() {
    const dir = NodePath.join(ctx.runDir, "eval")
    yield* sync(dir, () => NodeFs.mkdirSync(dir, { recursive: true }))
    yield* Stream.fromIterable(episodes).pipe(
      Stream.map((e): Trajectory => ({ ...e.trajectory, reward: e.reward, success: e.success, source: `eval:${e.termination}` })),
      TrajectoryArrow.write(NodePath.join(dir, "episodes.arrows")),
      Effect.mapError((e) => ioError(NodePath.join(dir, "episodes.arrows"), e))
    )
    yield* Failpoint.hit("eval.episodes")
    const s = Evaluate.summary(episodes)
    const summary: RunDir.EvalSummary = {
      avgReward: s.avgReward,
      successRate: s.successRate,
      episodes: s.episodes,
      env: ctx.pipeline.env.name,
      split: entry.split,
      policy: entry.policy,
      // per episode, in task order: what the table's bootstrap intervals and paired differences resample
      outcomes: episodes.map((e) => ({ task: e.taskId, reward: e.reward, success: e.success })),
      // how each episode ended (done, max_steps, error:<reason>): they add up to `episodes`, whatever the environment did
      terminations: Evaluate.terminations(episodes),
      ...(extra.train === undefined ? {} : { train: trainSummary(extra.train) }),
      ...(extra.validation === undefined ? {} : { validation: { world: extra.validation.world, ...trainSummary(extra.validation.episodes) } }),
      ...(extra.actionAccuracy === undefined ? {} : { actionAccuracy: extra.actionAccuracy.accuracy, actionAccuracyStates: extra.actionAccuracy.states })
    }
    yield* RunState.writeJson(NodePath.join(ctx.runDir, RunDir.SUMMARY), RunDir.EvalSummary, summary)
    return summary
  })

/** The train-split check's part of eval/summary.json. */
const trainSummary = (episodes: ReadonlyArray<Evaluate.Episode>) => {
  const s = Evaluate.summary(episodes)
  return { avgReward: s.avgReward, successRate: s.successRate, episodes: s.episodes, terminations: Evaluate.terminations(episodes) }
}

/** Trajectories per iteration whose every step goes to samples/step-rewards.jsonl (the report's heatmap rows). */
const heatmapTrajectories = 4

/**
 * Keeps the first sample of every step of the first few trajectories of an iteration, with the step reward the
 * agent's action got and the expert's, and appends them to samples/step-rewards.jsonl when the iteration ends.
 */
const heatmapSampler = (ctx: Context, unit: Unit) => {
  const byTrajectory = new Map<string, { readonly taskId: string; readonly env: string; readonly steps: Array<RunDir.StepReward> }>()
  const strip = (text: string) => text.trim()
  return {
    observe: (r: Rewarded) =>
      Effect.sync(() => {
        const t = r.segment.trajectory
        if (r.sample !== 0) return
        let entry = byTrajectory.get(t.id)
        if (entry === undefined) {
          if (byTrajectory.size >= heatmapTrajectories) return
          entry = { taskId: t.taskId, env: t.env, steps: [] }
          byTrajectory.set(t.id, entry)
        }
        const expert = strip(ctx.tokenizer.decode(Segment.expertAction(r.segment)))
        const agent = strip(r.text)
        entry.steps.push({ step: r.segment.step, expert, agent, agentReward: r.reward, expertReward: r.expertReward, match: agent === expert })
      }),
    write: Effect.gen(function*() {
      const path = NodePath.join(ctx.runDir, RunDir.SAMPLES)
      const lines = yield* Effect.forEach([...byTrajectory], ([trajectoryId, e]) =>
        encodeSample({ stage: unit.entry.stage, iteration: unit.iteration, trajectoryId, taskId: e.taskId, env: e.env, steps: e.steps }).pipe(
          Effect.map((json) => JSON.stringify(json) + "\n"),
          Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: `${path}: cannot write (${schemaIssueLine(e.message)})` }))
        ))
      yield* sync(NodePath.dirname(path), () => {
        NodeFs.mkdirSync(NodePath.dirname(path), { recursive: true })
        NodeFs.appendFileSync(path, lines.join(""))
      })
    })
  }
}

const encodeSample = Schema.encodeEffect(RunDir.SampledTrajectory)

/** Expert trajectories of the first `n` held-out tasks, rendered as the pipeline renders: the action-accuracy rung. */
const heldOutExperts = (p: Pipeline.Pipeline, sim: Simulator, n: number) => Array.from({ length: Math.min(n, sim.size("test")) }, (_, i) => Expert.trajectory(sim, `test:${i}`, { thoughts: p.data.generate?.thoughts === true, seed: p.env.seed }))
    .map((t) => p.render.instruction === "drop" ? { ...t, instruction: "" } : t)

/** One point of the SFT learning curves: held-out and train success, held-out action accuracy, at the current optimizer step. */
const curvePoint = (p: Pipeline.Pipeline, run: Run.Run, n: number) =>
  Effect.gen(function*() {
    if (p.env.url !== undefined) return
    const models = yield* Models.Models
    const metrics = yield* Metrics.Metrics
    const curveRun = { ...run, iteration: run.iteration + 2_000_000 }
    const episodes = (split: "test" | "train") =>
      // the curve's own record below, not eval/*
      Evaluate.tasks(split, n).pipe(Evaluate.evaluate(Evaluate.defaults, curveRun, {}), Stream.runCollect, Effect.provide(Metrics.layerNone))
    const test = yield* episodes("test")
    const train = yield* episodes("train")
    const accuracy = yield* ActionAccuracy.actionAccuracy(heldOutExperts(p, Registry.make(p.env.name, p.env.seed), n))
    const step = (yield* models.entries)["policy"]?.optimizer?.step ?? 0
    yield* metrics.log({
      stage: "sft_curve",
      iteration: run.iteration,
      step,
      values: {
        "curve/success_rate": Evaluate.summary(Array.from(test)).successRate,
        "curve/train_success_rate": Evaluate.summary(Array.from(train)).successRate,
        "curve/action_accuracy": accuracy.accuracy
      }
    })
  })

const runUnit = (ctx: Context, unit: Unit) =>
  Effect.gen(function*() {
    const p = ctx.pipeline
    const run = { seed: stageSeed(p, unit.stageIndex), iteration: unit.iteration }
    const e = unit.entry
    switch (e.stage) {
      case "sft": {
        const cfg = Schema.decodeUnknownSync(Sft.Config)(e)
        const [lo, hi] = sftRange(e, ctx.total)
        const totalSteps = e.epochs * Math.ceil((hi - lo) / cfg.batchSize)
        yield* trajectories(p).pipe(
          Stream.take(hi),
          Stream.drop(lo),
          Shuffle.buffer(shuffleBuffer, Run.rng(run, "sft/shuffle")), // a new order every epoch (run.iteration)
          Stream.map((t) => Render.render(ctx.tokenizer, t)),
          Sft.sft(cfg, run, { totalSteps }),
          Stream.runDrain
        )
        if (e.curveEvery > 0 && (unit.iteration + 1) % e.curveEvery === 0) yield* curvePoint(p, run, e.curveEpisodes)
        return
      }
      case "stepagent": {
        const cfg = Schema.decodeUnknownSync(StepAgent.Config)(e)
        const start = unit.iteration * e.trajectoriesPerIteration
        const samples = heatmapSampler(ctx, unit)
        yield* window(p, ctx.tokenizer, poolRange(p, e, ctx.total), start, e.trajectoriesPerIteration).pipe(
          StepAgent.iteration(cfg, run, { rewarded: samples.observe }),
          Stream.runDrain
        )
        yield* samples.write
        yield* Failpoint.hit("samples.write")
        return
      }
      case "stepDpo": {
        const cfg = Schema.decodeUnknownSync(StepDpo.Config)(e)
        yield* Models.ensureReference // π_ref: the policy as it is when the stage starts (after SFT)
        const start = unit.iteration * e.trajectoriesPerIteration
        yield* window(p, ctx.tokenizer, poolRange(p, e, ctx.total), start, e.trajectoriesPerIteration).pipe(StepDpo.stepDpo(cfg, run), Stream.runDrain)
        return
      }
      case "outcomePpo": {
        const cfg = Schema.decodeUnknownSync(OutcomePpo.Config)(e)
        yield* Models.ensureReference // π_ref for PPO's KL penalty: the policy when the stage starts
        const size = Registry.make(p.env.name, p.env.seed).size("train")
        const first = unit.iteration * e.episodesPerIteration
        const tasks = Array.from({ length: e.episodesPerIteration }, (_, i) => `train:${(first + i) % size}`)
        yield* Stream.fromIterable(tasks).pipe(OutcomePpo.outcomePpo(cfg, run), Stream.runDrain)
        return
      }
      case "evaluate": {
        const cfg = Schema.decodeUnknownSync(Evaluate.Config)(e)
        const sim = p.env.url === undefined ? Registry.make(p.env.name, p.env.seed) : undefined
        // evaluations of long episodes (house, shop) run minutes between metrics: a note after each wave
        const onWave = (what: string, n: number) => (done: number) => ctx.note(`evaluate ${what} ${done}/${n} episodes`)
        const options = { ...(sim === undefined ? {} : { expert: (task: string) => sim.expert(task) }), onWave: onWave(e.split, e.n) }
        const episodes = yield* Evaluate.tasks(e.split, e.n).pipe(Evaluate.evaluate(cfg, run, options), Stream.runCollect)
        const metrics = yield* Metrics.Metrics
        // the ladder's lower rungs (built-in environments, model policy): train-split success, held-out action accuracy
        let train: ReadonlyArray<Evaluate.Episode> | undefined
        if (e.trainEpisodes > 0) {
          const done = yield* Evaluate.tasks("train", e.trainEpisodes).pipe(
            Evaluate.evaluate(cfg, { ...run, iteration: run.iteration + 1_000_000 }, { ...options, prefix: "eval/train_", onWave: onWave("train", e.trainEpisodes) }),
            Stream.runCollect
          )
          train = Array.from(done)
        }
        let validation: { readonly world: number; readonly episodes: ReadonlyArray<Evaluate.Episode> } | undefined
        if (e.validation !== undefined && e.validation.episodes > 0) {
          const world = e.validation.world
          const done = yield* Evaluate.tasks("train", e.validation.episodes).pipe(
            Evaluate.evaluate(cfg, { ...run, iteration: run.iteration + 2_000_000 }, { prefix: "eval/validation_", onWave: onWave(`validation (world ${world})`, e.validation.episodes) }),
            Stream.runCollect,
            Effect.provide(envLayer({ ...p, env: { ...p.env, seed: world } }))
          )
          validation = { world, episodes: Array.from(done) }
        }
        let actionAccuracy: ActionAccuracy.Result | undefined
        if (sim !== undefined && e.policy === "model" && e.actionAccuracyTasks > 0) {
          actionAccuracy = yield* ActionAccuracy.actionAccuracy(heldOutExperts(p, sim, e.actionAccuracyTasks))
          yield* metrics.log({ stage: "evaluate", iteration: run.iteration, step: actionAccuracy.states, values: { "eval/action_accuracy": actionAccuracy.accuracy, "eval/action_states": actionAccuracy.states } })
        }
        yield* evalOutputs(ctx, e, Array.from(episodes), { ...(train === undefined ? {} : { train }), ...(validation === undefined ? {} : { validation }), ...(actionAccuracy === undefined ? {} : { actionAccuracy }) })
        return
      }
    }
  })

// ---------------------------------------------------------------------------------------------------
// Checkpoints and state

const checkpointName = (completed: number) => `unit-${String(completed).padStart(4, "0")}`

/**
 * Saves the models after unit `completed`, then state.json naming that checkpoint and `last` (the point before) as
 * its fallback, then removes every other checkpoint. Two are kept, not one: a checkpoint found damaged on resume
 * (a flipped bit, a truncated file) then has an intact predecessor to fall back to, at the cost of one rerun unit;
 * disk use stays bounded at two checkpoints (three while the next is being written). Returns the new point.
 */
const saveProgress = (ctx: Context, completed: number, total: number, hash: string, backend: string, last: RunDir.Point) =>
  Effect.gen(function*() {
    const models = yield* Models.Models
    const entries = yield* models.entries
    const name = checkpointName(completed)
    const dir = NodePath.join(ctx.runDir, "checkpoints")
    yield* Checkpoint.save(NodePath.join(dir, name), {
      models: entries as Readonly<Record<string, Checkpoint.Entry>>,
      tokenizer: ctx.tokenizer,
      counters: { completed },
      // what `stepagent eval --checkpoint` needs to render states as in training
      meta: { pipeline: ctx.pipeline.name, env: ctx.pipeline.env, render: ctx.pipeline.render }
    }).pipe(Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: e.message })))
    yield* Failpoint.hit("state.write")
    const samplesPath = NodePath.join(ctx.runDir, RunDir.SAMPLES)
    const point: RunDir.Point = {
      completed,
      checkpoint: `checkpoints/${name}`,
      metricsBytes: yield* sync(ctx.runDir, () => NodeFs.statSync(NodePath.join(ctx.runDir, RunDir.METRICS)).size),
      samplesBytes: yield* sync(samplesPath, () => NodeFs.existsSync(samplesPath) ? NodeFs.statSync(samplesPath).size : 0)
    }
    yield* RunState.write(ctx.runDir, { format: "stepagent-run-state/1", ...point, units: total, hash, backend, previous: last })
    yield* Failpoint.hit("state.prune")
    yield* settle(ctx.runDir, point, last)
    return point
  }).pipe(Effect.uninterruptible)

/**
 * Brings checkpoints/ in line with state.json: LATEST names its checkpoint, and checkpoints other than the two it
 * names (and leftovers of failed or killed writes) are removed. After each save, and by a resume that finds every
 * unit done (a kill between state.json and this leaves them behind).
 */
const settle = (runDir: string, current: RunDir.Point, previous: RunDir.Point | undefined) =>
  Effect.gen(function*() {
    if (current.checkpoint === null) return
    const dir = NodePath.join(runDir, "checkpoints")
    const name = NodePath.basename(current.checkpoint)
    const keep = new Set([name, ...(previous?.checkpoint == null ? [] : [NodePath.basename(previous.checkpoint)])])
    yield* RunState.writeAtomic(NodePath.join(dir, "LATEST"), name + "\n")
    yield* sync(dir, () => {
      for (const old of NodeFs.readdirSync(dir)) {
        if (!keep.has(old) && old.startsWith("unit-")) NodeFs.rmSync(NodePath.join(dir, old), { recursive: true, force: true })
      }
    })
  })

// ---------------------------------------------------------------------------------------------------
// Execution

const execute = (runDir: string, p: Pipeline.Pipeline, hash: string, start: RunDir.Point, initial: Readonly<Partial<Record<Models.Role, Models.Entry>>> | undefined, tokenizer: Tokenizer) =>
  Effect.gen(function*() {
    const backend = describe(yield* Backend)
    const all = units(p)
    const from = start.completed
    const total = yield* countTrajectories(p)
    const progress = yield* Progress.Progress
    const bar = yield* progress.start(`${p.name}`, all.length)
    const ctx: Context = { runDir, pipeline: p, tokenizer, total, note: bar.note }
    const metricsPath = NodePath.join(runDir, RunDir.METRICS)
    yield* sync(metricsPath, () => {
      if (!NodeFs.existsSync(metricsPath)) NodeFs.writeFileSync(metricsPath, "")
    })
    const models = initial ?? {
      policy: { model: Transformer.init(Preset.config(p.model.preset, { ...p.model.overrides, vocabSize: tokenizer.vocabSize }), stageSeed(p, -1)) }
    }
    yield* bar.advance(from)
    let last = start
    yield* Effect.gen(function*() {
      for (const unit of all.slice(from)) {
        const t0 = performance.now()
        yield* runUnit(ctx, unit)
        last = yield* saveProgress(ctx, unit.index + 1, all.length, hash, backend, last)
        yield* bar.advance(1, `${unit.entry.stage} ${unit.iteration + 1}/${StageEntry.repetitions(unit.entry)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`)
      }
    }).pipe(
      Effect.provide(Layer.mergeAll(Models.layer({ tokenizer, models }), withProgress(Metrics.layerFile(metricsPath), bar), envLayer(p))),
      // A file system that refuses a write (a full disk) stops the run with one line; what state.json names is intact.
      Effect.catchTag("MetricsError", (e) => Effect.fail(new PipelineError({ reason: "RunDirectory", message: e.message }))),
      Effect.mapError((e) => e._tag === "PipelineError" && e.reason === "RunDirectory" ? resumable(runDir, last, all.length, e) : e)
    )
    yield* bar.done
    // every unit is saved: a report the disk refuses is written by `resume`
    return yield* finish(runDir).pipe(Effect.mapError((e) => resumable(runDir, last, all.length, e)))
  })

/** A run-directory failure inside the unit loop, with where a resume would start. */
const resumable = (runDir: string, last: RunDir.Point, units: number, e: PipelineError): PipelineError =>
  new PipelineError({
    reason: "RunDirectory",
    message: `${e.message}; ${last.completed}/${units} units are saved${last.checkpoint === null ? "" : ` (${last.checkpoint} intact)`}: ${/ENOSPC|EDQUOT/.test(e.message) ? "free space" : "fix the cause"}, then \`stepagent resume ${runDir}\``
  })

/** After the last unit: the evaluation's one line, then the report (its path is returned). */
const finish = (runDir: string) =>
  Effect.gen(function*() {
    // the result in one line, before the report's path (the last line)
    const summary = yield* RunDir.summary(runDir).pipe(Effect.option)
    if (Option.isSome(summary)) yield* Console.log(evalLine(summary.value))
    const written = yield* Report.write([runDir], {}).pipe(Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: e.message })))
    return written.out
  })

const pct = (x: number) => `${(100 * x).toFixed(1)}%`

/** `eval: <split> success 12.5% of 200 episodes (avg reward 0.153); train success 54.0%; action accuracy 42.4%` */
const evalLine = (s: RunDir.EvalSummary): string =>
  [
    `eval: ${s.split ?? "test"} success ${pct(s.successRate)} of ${s.episodes} episodes (avg reward ${s.avgReward.toFixed(3)})`,
    ...(s.train === undefined ? [] : [`train success ${pct(s.train.successRate)}`]),
    ...(s.validation === undefined ? [] : [`validation success ${pct(s.validation.successRate)} (world ${s.validation.world})`]),
    ...(s.actionAccuracy === undefined ? [] : [`action accuracy ${pct(s.actionAccuracy)}`]),
    ...errorPart("", s.terminations),
    ...errorPart("train: ", s.train?.terminations)
  ].join("; ")

/** `3 episodes ended on environment errors (error:Timeout 2, error:ServerError 1)`, when some did. */
const errorPart = (prefix: string, terminations: Readonly<Record<string, number>> | undefined): Array<string> => {
  const errors = Object.entries(terminations ?? {}).filter(([k]) => k.startsWith("error:"))
  const n = errors.reduce((sum, [, v]) => sum + v, 0)
  return n === 0 ? [] : [`${prefix}${n} episode${n === 1 ? "" : "s"} ended on environment errors (${errors.map(([k, v]) => `${k} ${v}`).join(", ")})`]
}

/** The metrics sink, with every logged step also noted in the progress (a plain line every ~15 s inside long units). */
const withProgress = (sink: Layer.Layer<Metrics.Metrics>, bar: Progress.Task): Layer.Layer<Metrics.Metrics> =>
  Layer.effect(Metrics.Metrics, Effect.gen(function*() {
    const m = yield* Metrics.Metrics
    return Metrics.Metrics.of({ log: (r) => Effect.andThen(m.log(r), bar.note(`${r.stage} step ${r.step}`)) })
  })).pipe(Layer.provide(sink))

/** Where a run starts: a fresh tokenizer and model, or the `init` checkpoint's policy, reference and tokenizer. */
const initialState = (p: Pipeline.Pipeline) =>
  Effect.gen(function*() {
    if (p.init === undefined) return { tokenizer: yield* trainTokenizer(p), initial: undefined }
    const path = p.init.checkpoint
    const incompatible = (message: string) => new PipelineError({ reason: "IncompatibleCheckpoint", message: `init checkpoint ${path}: ${message}` })
    const loaded = yield* Checkpoint.load(path).pipe(Effect.mapError((e) => incompatible(e.message)))
    const tokenizer = yield* Bpe.load(loaded.tokenizer.json).pipe(Effect.mapError((e) => incompatible(e.message)))
    const policy = loaded.models["policy"]
    if (policy === undefined) return yield* incompatible("holds no policy model")
    const wanted = Preset.config(p.model.preset, { ...p.model.overrides, vocabSize: tokenizer.vocabSize })
    const differs = (Object.keys(wanted) as Array<keyof typeof wanted>).filter((k) => wanted[k] !== policy.model.config[k])
    if (differs.length > 0) return yield* incompatible(`its policy's ${differs.map((k) => `${k} ${policy.model.config[k]}`).join(", ")} differ from the pipeline's model (${differs.map((k) => `${k} ${wanted[k]}`).join(", ")})`)
    const reference = loaded.models["reference"]
    const initial: Partial<Record<Models.Role, Models.Entry>> = { policy: { model: policy.model } }
    if (reference !== undefined) initial.reference = { model: reference.model }
    return { tokenizer, initial }
  })

/** Reads a pipeline script, applies overrides and validates it: every error names the file and field. */
export const resolve = (script: string, sets: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const raw = yield* Pipeline.load(script)
    const overridden = yield* Pipeline.override(script, raw, sets)
    const p = yield* Pipeline.decode(script, overridden)
    yield* Pipeline.checkDatasets(script, p)
    return p
  })

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")

const versions = () => {
  const version = (pkg: string) => {
    const r = NodeFs.readFileSync(NodePath.join("node_modules", pkg, "package.json"), { encoding: "utf8", flag: "r" })
    return (JSON.parse(r) as { version: string }).version
  }
  const out: Record<string, string> = { node: process.version }
  for (const pkg of ["effect", "apache-arrow", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"]) {
    out[pkg] = NodeFs.existsSync(NodePath.join("node_modules", pkg, "package.json")) ? version(pkg) : "unknown"
  }
  return out
}

/** `stepagent run`: a new run directory, printed on the first line, then the whole pipeline. */
export const start = (script: string, options: { readonly out: string; readonly sets: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const p = yield* resolve(script, options.sets)
    const resolved = Schema.encodeSync(Pipeline.Pipeline)(p)
    const hash = hashOf(resolved)
    const info = yield* Backend
    const base = NodePath.join(options.out, `${p.name}__${p.seed}__${stamp(new Date())}`)
    let runDir = base
    for (let i = 2; NodeFs.existsSync(runDir); i++) runDir = `${base}-${i}`
    yield* sync(runDir, () => {
      NodeFs.mkdirSync(NodePath.join(runDir, "checkpoints"), { recursive: true })
      NodeFs.mkdirSync(NodePath.join(runDir, "eval"), { recursive: true })
      NodeFs.mkdirSync(NodePath.join(runDir, "samples"), { recursive: true })
    })
    yield* Console.log(runDir)
    const config: RunDir.RunConfig = {
      pipeline: p.name,
      method: p.method,
      seed: p.seed,
      script,
      config: resolved,
      hash,
      backend: {
        name: info.name,
        matmul: info.matmul,
        threads: info.name === "wasm" ? Math.max(info.threads.blas, info.threads.wasm) : info.name === "cpu" ? 1 : info.threads.tensorflow, // compute threads
        threadDetail: info.threads,
        description: describe(info)
      },
      versions: versions(),
      createdAt: new Date().toISOString()
    }
    yield* RunState.writeJson(NodePath.join(runDir, RunDir.CONFIG), RunDir.RunConfig, config)
    const { initial, tokenizer } = yield* initialState(p)
    yield* RunState.writeAtomic(NodePath.join(runDir, "tokenizer.json"), JSON.stringify(tokenizer.toJSON()) + "\n")
    const report = yield* execute(runDir, p, hash, RunState.origin, initial, tokenizer)
    yield* Console.log(`report: ${report}`)
    return runDir
  })

/** Why a checkpoint cannot be resumed from but an older one can: it is damaged or gone (not a mismatch of config). */
const damaged = (e: CheckpointError) => e.reason === "Corrupt" || e.reason === "NotFound"

/**
 * The models to resume from: the checkpoint state.json names, or, when that one is damaged (a checksum mismatch,
 * a truncated or missing file), the one before it, which is kept for this (`saveProgress`). The damaged one is
 * moved aside as `<name>.corrupt` (removed with the next checkpoint) and the unit after the fallback point reruns.
 * A warning names the damage in one line.
 */
const loadPoint = (runDir: string, p: Pipeline.Pipeline, state: RunDir.State) =>
  Effect.gen(function*() {
    const tokenizer = yield* Bpe.loadFile(NodePath.join(runDir, "tokenizer.json")).pipe(Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: e.message })))
    const load = (point: RunDir.Point) =>
      point.checkpoint === null
        ? Effect.succeed(undefined)
        : Checkpoint.load(NodePath.join(runDir, point.checkpoint), { tokenizerHash: tokenizer.hash }).pipe(
          Effect.map((loaded) => Object.fromEntries(Object.entries(loaded.models).map(([role, e]) => [role, { model: e.model, optimizer: e.optimizer }])) as Partial<Record<Models.Role, Models.Entry>>)
        )
    const incompatible = (e: CheckpointError) => new PipelineError({ reason: "IncompatibleCheckpoint", message: e.message })
    const latest = yield* Effect.result(load(state))
    if (latest._tag === "Success") return { point: state as RunDir.Point, initial: latest.success, tokenizer }
    const previous = state.previous
    if (!damaged(latest.failure) || previous === undefined) return yield* incompatible(latest.failure)
    const fallback = yield* Effect.result(load(previous))
    if (fallback._tag === "Failure") {
      return yield* new PipelineError({
        reason: "IncompatibleCheckpoint",
        message: `${latest.failure.message}; the one before is unusable too (${fallback.failure.message}): start the run again`
      })
    }
    const bad = NodePath.join(runDir, state.checkpoint!)
    yield* sync(bad, () => {
      if (NodeFs.existsSync(bad)) NodeFs.renameSync(bad, `${bad}.corrupt`)
    })
    yield* Effect.logWarning(`${latest.failure.message}: resuming from ${previous.checkpoint ?? "the start"} (unit ${previous.completed}/${units(p).length}) instead`)
    if (previous.checkpoint !== null) return { point: previous, initial: fallback.success, tokenizer }
    // The first checkpoint was the damaged one: start over exactly as `run` did.
    const s = yield* initialState(p)
    return { point: previous, initial: s.initial, tokenizer: s.tokenizer }
  })

/**
 * `stepagent resume <run-dir>`: continues from the last checkpoint (or the one before it, when the last is damaged);
 * a run whose units are all done but whose report was cut short gets its report. Refuses what would do nothing or
 * could not be exact.
 */
export const resume = (runDir: string) =>
  Effect.gen(function*() {
    const configPath = NodePath.join(runDir, RunDir.CONFIG)
    if (!NodeFs.existsSync(configPath)) return yield* new PipelineError({ reason: "NotFound", message: `${runDir}: not a run directory (no config.json)` })
    const file = yield* sync(configPath, () => JSON.parse(NodeFs.readFileSync(configPath, "utf8")) as unknown)
    const notRunConfig = new PipelineError({ reason: "RunDirectory", message: `${configPath}: not a stepagent run config` })
    const cfg = yield* Schema.decodeUnknownEffect(RunDir.RunConfig)(file).pipe(Effect.mapError(() => notRunConfig))
    const hash = cfg.hash
    if (hash === undefined) return yield* notRunConfig
    const p = yield* Pipeline.decode(configPath, cfg.config)
    if (hashOf(Schema.encodeSync(Pipeline.Pipeline)(p)) !== hash) {
      return yield* new PipelineError({ reason: "NotExact", message: `${configPath}: the config no longer matches its hash (edited?): a resume could not reproduce the run` })
    }
    yield* Pipeline.checkDatasets(configPath, p)
    const state = yield* RunState.read(runDir)
    const all = units(p)
    const backend = describe(yield* Backend)
    if (state !== undefined) {
      if (state.completed >= all.length) {
        // The report is written last (report.html after its figures, each by rename): a run killed while writing it has none.
        if (NodeFs.existsSync(NodePath.join(runDir, "report.html"))) {
          return yield* new PipelineError({ reason: "NothingToResume", message: `${runDir}: the run is complete (${state.completed}/${all.length} units): nothing to resume` })
        }
        yield* settle(runDir, state, state.previous)
        yield* Console.log(runDir)
        yield* Console.log(`report: ${yield* finish(runDir)}`)
        return runDir
      }
      if (state.backend !== backend) {
        return yield* new PipelineError({ reason: "NotExact", message: `${runDir}: computed on "${state.backend}", now "${backend}": the resumed run could not be exact (use the same --backend/--threads)` })
      }
    }
    const start = state === undefined || state.checkpoint === null
      ? { point: RunState.origin, ...(yield* initialState(p)) } // killed before the first unit completed: start over exactly as `run` did
      : yield* loadPoint(runDir, p, state)
    // Metrics and samples written after the resumed point belong to the units that rerun: cut them.
    for (const [file, keep] of [["metrics.jsonl", start.point.metricsBytes], [RunDir.SAMPLES, start.point.samplesBytes]] as const) {
      const path = NodePath.join(runDir, file)
      yield* sync(path, () => {
        if (NodeFs.existsSync(path)) NodeFs.truncateSync(path, keep)
      })
    }
    yield* Console.log(runDir)
    const report = yield* execute(runDir, p, hash, start.point, start.initial, start.tokenizer)
    yield* Console.log(`report: ${report}`)
    return runDir
  })
