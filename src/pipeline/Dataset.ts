import { Effect, Option, Stream } from "effect"
import * as Render from "../data/Render.ts"
import type { Tokenizer } from "../data/Tokenizer.ts"
import * as TrajectoryArrow from "../data/TrajectoryArrow.ts"
import type { Trajectory } from "../domain/Trajectory.ts"
import * as Expert from "../env/Expert.ts"
import * as Registry from "../env/Registry.ts"
import type * as Pipeline from "./Pipeline.ts"
import { PipelineError } from "./PipelineError.ts"
import type * as StageEntry from "./StageEntry.ts"

/**
 * A pipeline's expert data, always streamed (one Arrow record batch, one shuffle buffer at most in memory, whatever
 * the data's size): the trajectories of its files and those generated in-process, their number, the windows
 * improvement stages draw from, and the ranges the stages take. Nothing is cached across passes: a cache of the
 * rendered data would hold the whole dataset in memory. A window renders only its own trajectories.
 */

/** The pipeline's expert trajectories, streamed from its files, as the model sees them (instruction rule applied). */
export const trajectories = (p: Pipeline.Pipeline): Stream.Stream<Trajectory, PipelineError> => {
  const files = Stream.fromIterable(p.data.train).pipe(Stream.flatMap((path) => TrajectoryArrow.read(path)))
  const all = p.data.generate === undefined ? files : Stream.concat(files, generated(p, p.data.generate))
  const limited = p.data.limit === undefined ? all : Stream.take(all, p.data.limit)
  return limited.pipe(
    Stream.map((t) => asSeen(p, t)),
    Stream.mapError((e) => new PipelineError({ reason: "MissingDataset", message: e.message }))
  )
}

/** A trajectory as the pipeline's model sees it: the instruction dropped when the pipeline says so. */
export const asSeen = (p: Pipeline.Pipeline, t: Trajectory): Trajectory => p.render.instruction === "drop" ? { ...t, instruction: "" } : t

/** Expert trajectories generated in-process: trajectory k is train task floor(k / S) of world seeds[k % S]. */
const generated = (p: Pipeline.Pipeline, g: Generate) =>
  Stream.suspend(() => {
    const seeds = g.seeds ?? [p.env.seed]
    const sims = new Map<number, ReturnType<typeof Registry.make>>()
    const sim = (seed: number) => {
      let s = sims.get(seed)
      if (s === undefined) sims.set(seed, s = Registry.make(p.env.name, seed, p.env.expert))
      return s
    }
    const n = generatedCount(g, seeds, sim(seeds[0]!).size("train"))
    return Stream.range(0, n - 1).pipe(
      Stream.map((k) => {
        const seed = seeds[k % seeds.length]!
        return Expert.trajectory(sim(seed), `train:${Math.floor(k / seeds.length)}`, { thoughts: g.thoughts === true, seed, recoveries: g.recoveries ?? 0, recoveryKinds: g.recoveryKinds })
      })
    )
  })

type Generate = NonNullable<Pipeline.Pipeline["data"]["generate"]>

/** How many trajectories `data.generate` gives: n, or every train task of every seed when there are fewer. */
const generatedCount = (g: Generate, seeds: ReadonlyArray<number>, trainTasks: number): number => Math.min(g.n, seeds.length * trainTasks)

/**
 * The number of trajectories in the data, without decoding or generating them: the files' record-batch row counts
 * (read until `limit` is reached) plus the number `data.generate` gives. The count `trajectories` would give.
 */
export const count = (p: Pipeline.Pipeline): Effect.Effect<number, PipelineError> =>
  Effect.gen(function*() {
    const limit = p.data.limit ?? Number.POSITIVE_INFINITY
    const rows = yield* Stream.fromIterable(p.data.train).pipe(
      Stream.flatMap((path) => TrajectoryArrow.readBatches(path)),
      Stream.scan(() => 0, (sum: number, batch) => sum + batch.numRows),
      Stream.takeUntil((sum) => sum >= limit),
      Stream.runLast,
      Effect.map(Option.getOrElse(() => 0)),
      Effect.mapError((e) => new PipelineError({ reason: "MissingDataset", message: e.message }))
    )
    const g = p.data.generate
    const seeds = g?.seeds ?? [p.env.seed]
    const made = g === undefined || rows >= limit ? 0 : generatedCount(g, seeds, Registry.make(p.env.name, seeds[0]!).size("train"))
    return Math.min(limit, rows + made)
  })

/**
 * Trajectories [start, start + n) of the range [lo, hi) of the data, cycling within the range, rendered: a StepAgent
 * or step-DPO iteration's window. One pass over the files, rendering only the window's trajectories.
 */
export const window = (p: Pipeline.Pipeline, tok: Tokenizer, range: readonly [number, number], start: number, n: number) => {
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

/**
 * The first `n` trajectories the run trains on, as the model sees them: from where its first SFT stage starts (its
 * `offset`), or a DAgger stage's expert data (`expertOffset`) when no SFT stage comes first, else the data's start.
 * For the evaluate stage's action accuracy at trained states.
 */
export const trainedOn = (p: Pipeline.Pipeline, n: number): Stream.Stream<Trajectory, PipelineError> => {
  const first = p.stages.find((e): e is typeof StageEntry.SftEntry.Type | typeof StageEntry.DaggerEntry.Type => e.stage === "sft" || e.stage === "dagger")
  const lo = first === undefined ? 0 : first.stage === "sft" ? first.offset : first.expertOffset
  return trajectories(p).pipe(Stream.drop(lo), Stream.take(n))
}

/** Trajectories held in a shuffle buffer: at least every SFT set the shipped pipelines use, so each epoch is a full permutation. */
export const shuffleBuffer = 20_000

/** The trajectories an SFT entry trains on: [offset, offset + trajectories) of the data, clipped to it. */
export const sftRange = (e: { readonly offset: number; readonly trajectories?: number | undefined }, total: number): readonly [number, number] => {
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
