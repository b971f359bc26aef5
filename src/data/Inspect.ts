/**
 * Summary statistics of a text-layout trajectory file, computed on the column vectors of each record
 * batch (step counts from the list offsets, rewards from the Float64 buffer, successes from the bit
 * buffer): no trajectory is decoded to an object, so it streams at the speed of reading the file.
 */
import * as Arrow from "apache-arrow"
import { Effect, Sink, Stream } from "effect"
import type { DataError } from "../domain/DataError.ts"
import * as ArrowCheck from "./ArrowCheck.ts"
import * as ArrowColumns from "./ArrowColumns.ts"
import * as TrajectoryArrow from "./TrajectoryArrow.ts"

export interface Stats {
  readonly trajectories: number
  readonly steps: number
  /** Trajectories per environment, keys sorted. */
  readonly envs: Readonly<Record<string, number>>
  /** Mean steps per trajectory (0 for an empty file). */
  readonly meanSteps: number
  /** Mean trajectory reward (0 for an empty file). */
  readonly meanReward: number
  /** Fraction of trajectories with success = true (0 for an empty file). */
  readonly successRate: number
  /** Actions flagged as no target (`turnLoss` false: AgentGym's `loss: false`, a recovery's mistake): context, never trained on. */
  readonly untrainedActions: number
  readonly batches: number
}

/** Running totals; owned by one fold (mutated in place, one per run). */
interface Totals {
  trajectories: number
  steps: number
  rewardSum: number
  successes: number
  untrained: number
  batches: number
  readonly envs: Map<string, number>
}

const empty = (): Totals => ({ trajectories: 0, steps: 0, rewardSum: 0, successes: 0, untrained: 0, batches: 0, envs: new Map() })

const decoder = new TextDecoder()

const sameBytes = (bytes: Uint8Array, a: number, b: number, len: number): boolean => {
  for (let k = 0; k < len; k++) if (bytes[a + k] !== bytes[b + k]) return false
  return true
}

/** Adds one batch (that passed the text layout's schema check) to the totals. */
const add = (t: Totals, batch: Arrow.RecordBatch): Totals => {
  const n = batch.numRows
  const steps = ArrowColumns.column<Arrow.List>(batch, "steps")
  const reward = ArrowColumns.column<Arrow.Float64>(batch, "reward")
  const success = ArrowColumns.column<Arrow.Bool>(batch, "success")
  const env = ArrowColumns.column<Arrow.Utf8>(batch, "env")
  t.batches++
  t.trajectories += n
  if (n === 0) return t
  t.steps += steps.valueOffsets[n]! - steps.valueOffsets[0]!
  const rewards = reward.values
  for (let i = 0; i < n; i++) t.rewardSum += rewards[i]!
  for (let i = 0; i < n; i++) if (ArrowColumns.boolAt(success, i)) t.successes++
  // flags count as Trajectory.actionTrained reads them: one per turn (instruction, ack, observation and action per step,
  // the final observation), the action of step k at turn 3 + 2k; flags of the wrong length are ignored
  const turnLoss = ArrowColumns.column<Arrow.List<Arrow.Bool>>(batch, "turnLoss")
  const finalObservation = ArrowColumns.column<Arrow.Utf8>(batch, "finalObservation")
  const flags = turnLoss.children[0] as Arrow.Data<Arrow.Bool>
  for (let i = 0; i < n; i++) {
    if (!ArrowColumns.isValid(turnLoss, i)) continue
    const a = turnLoss.valueOffsets[i]!
    const stepCount = steps.valueOffsets[i + 1]! - steps.valueOffsets[i]!
    if (turnLoss.valueOffsets[i + 1]! - a !== 2 + 2 * stepCount + (ArrowColumns.isValid(finalObservation, i) ? 1 : 0)) continue
    for (let k = 0; k < stepCount; k++) {
      const j = a + 3 + 2 * k
      if (ArrowColumns.isValid(flags, j) && !ArrowColumns.boolAt(flags, j)) t.untrained++
    }
  }
  // Rows of one environment usually come in runs: count a run at once, decode its name once.
  const offsets = env.valueOffsets
  const bytes = env.values
  let runStart = 0
  for (let i = 1; i <= n; i++) {
    const a = offsets[runStart]!
    const len = offsets[runStart + 1]! - a
    if (i < n) {
      const b = offsets[i]!
      if (offsets[i + 1]! - b === len && sameBytes(bytes, a, b, len)) continue
    }
    const name = decoder.decode(bytes.subarray(a, a + len))
    t.envs.set(name, (t.envs.get(name) ?? 0) + (i - runStart))
    runStart = i
  }
  return t
}

const finish = (t: Totals): Stats => {
  const per = (x: number) => (t.trajectories === 0 ? 0 : x / t.trajectories)
  const envs: Record<string, number> = {}
  for (const k of [...t.envs.keys()].sort()) envs[k] = t.envs.get(k)!
  return {
    trajectories: t.trajectories,
    steps: t.steps,
    envs,
    meanSteps: per(t.steps),
    meanReward: per(t.rewardSum),
    successRate: per(t.successes),
    untrainedActions: t.untrained,
    batches: t.batches
  }
}

/** A sink from text-layout record batches to their statistics. */
export const sink: Sink.Sink<Stats, Arrow.RecordBatch> = Sink.map(Sink.reduce(empty, add), finish)

/** The statistics of the text-layout file at `path` (DataError NotFound | NotArrow | WrongSchema | Io). */
export const stats = (path: string): Effect.Effect<Stats, DataError> => Effect.map(inspect(path), ({ schema: _, ...s }) => s)

/** A column of a schema, for display. */
export interface Column {
  readonly name: string
  readonly type: string
  readonly nullable: boolean
}

export interface SchemaSummary {
  /** The layout and version from the schema metadata (`trajectory-text/1`), null when absent. */
  readonly layout: string | null
  readonly columns: ReadonlyArray<Column>
}

export const describe = (s: Arrow.Schema): SchemaSummary => ({
  layout: s.metadata.get(ArrowCheck.layoutKey) ?? null,
  columns: s.fields.map((f) => ({ name: f.name, type: String(f.type), nullable: f.nullable }))
})

/** The statistics and the schema of the text-layout file at `path`, reading it once (so a pipe works too). */
export const inspect = (path: string): Effect.Effect<Stats & { readonly schema: SchemaSummary }, DataError> =>
  Effect.scoped(Effect.gen(function*() {
    // The fold keeps nothing of a batch: scan them through one reused buffer.
    const { batches, schema } = yield* TrajectoryArrow.openScan(path)
    const stats = yield* Stream.run(batches, sink)
    return { ...stats, schema: describe(schema) }
  }))
