import * as NodePath from "node:path"
import { Effect, FileSystem, Schema } from "effect"
import * as RunDir from "../report/RunDir.ts"
import type { Rewarded } from "../stages/Rewarded.ts"
import * as Segment from "../stages/Segment.ts"
import { PipelineError, schemaIssueLine } from "./PipelineError.ts"
import * as RunFiles from "./RunFiles.ts"
import type * as Unit from "./Unit.ts"

/** Trajectories per iteration whose every step goes to samples/step-rewards.jsonl (the report's heatmap rows). */
const heatmapTrajectories = 4

const encodeSample = Schema.encodeEffect(RunDir.SampledTrajectory)

/**
 * Keeps the first sample of every step of the first few trajectories of an iteration, with the step reward the
 * agent's action got and the expert's, and appends them to samples/step-rewards.jsonl when the iteration ends.
 */
export const make = (ctx: Unit.Context, unit: Unit.Unit) => {
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
      const fs = yield* FileSystem.FileSystem
      const path = NodePath.join(ctx.runDir, RunDir.SAMPLES)
      const lines = yield* Effect.forEach([...byTrajectory], ([trajectoryId, e]) =>
        encodeSample({ stage: unit.entry.stage, iteration: unit.iteration, trajectoryId, taskId: e.taskId, env: e.env, steps: e.steps }).pipe(
          Effect.map((json) => JSON.stringify(json) + "\n"),
          Effect.mapError((e) => new PipelineError({ reason: "RunDirectory", message: `${path}: cannot write (${schemaIssueLine(e.message)})` }))
        ))
      const dir = NodePath.dirname(path)
      yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError(RunFiles.ioError(dir)))
      yield* fs.writeFileString(path, lines.join(""), { flag: "a" }).pipe(Effect.mapError(RunFiles.ioError(dir)))
    })
  }
}
