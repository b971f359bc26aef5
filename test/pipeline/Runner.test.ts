import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, FileSystem, Layer, Schema } from "effect"
import * as TestConsole from "effect/testing/TestConsole"
import * as TensorBoard from "../../src/metrics/TensorBoard.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as Pipeline from "../../src/pipeline/Pipeline.ts"
import * as Progress from "../../src/pipeline/Progress.ts"
import * as Resume from "../../src/pipeline/Resume.ts"
import * as Start from "../../src/pipeline/Start.ts"
import * as RunDir from "../../src/report/RunDir.ts"
import * as EventFile from "../metrics/EventFileReader.ts"

/**
 * The runner in-process (no CLI, no child process): the tiny pipeline, shortened to three units, run with test
 * layers (a real temporary directory through NodeFileSystem, the TestClock standing at the epoch, TestConsole, no
 * progress output), and its run directory checked file by file. Kill-and-resume exactness is Resume.test.ts's (CLI).
 */
const services = Layer.mergeAll(NodeFileSystem.layer, Backend.layerTest, Progress.layerNone)

const sets = [
  "stages.0.epochs=1", // one SFT epoch (3 optimizer steps)
  "stages.1.iterations=1", // one StepAgent iteration
  "stages.2.n=4",
  "stages.2.parallel=4",
  "stages.2.trainEpisodes=2",
  "stages.2.actionAccuracyTasks=2",
  "stages.2.trainActionAccuracyTasks=3"
]

/** A scalar event as tags and values: -0 read as 0 (JSON writes it so), NaN for null (a non-finite value). */
type Scalars = { readonly step: number; readonly values: ReadonlyArray<readonly [string, number]> }

/**
 * The TensorBoard event files of a run directory in name order, decoded by the test's own reader: each must open with
 * the file version and the config text and end with a whole record; returns each file's name and scalar events.
 */
const eventFiles = (runDir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = NodePath.join(runDir, TensorBoard.DIR)
    const config = yield* fs.readFileString(NodePath.join(runDir, RunDir.CONFIG))
    return yield* Effect.forEach((yield* fs.readDirectory(dir)).sort(), (name) =>
      Effect.gen(function*() {
        assert.match(name, /^events\.out\.tfevents\.\d{10}\./)
        const { events, truncated } = EventFile.read(yield* fs.readFile(NodePath.join(dir, name)))
        assert.isFalse(truncated)
        assert.deepStrictEqual(events[0], { wallTime: events[0]!.wallTime, step: 0, fileVersion: "brain.Event:2" })
        assert.deepStrictEqual(events[1]!.values, [{ tag: "config", pluginName: "text", tensor: { dtype: 7, rank: 0, strings: [TensorBoard.codeBlock(config, "json")] } }])
        const scalars: Array<Scalars> = events.slice(2).map((e) => ({ step: e.step, values: e.values!.map((v) => [v.tag, v.simpleValue! + 0] as const) }))
        return { name, scalars }
      }))
  })

/** metrics.jsonl's records as TensorBoard should hold them: tag `<stage>/<metric>`, the value rounded to float32. */
const expectedScalars = (runDir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const lines = (yield* fs.readFileString(NodePath.join(runDir, RunDir.METRICS))).trim().split("\n")
    return lines.map((l): Scalars => {
      const { stage, iteration: _, step, ...values } = JSON.parse(l) as Record<string, unknown>
      return { step: step as number, values: Object.entries(values).map(([k, v]) => [`${String(stage)}/${k}`, v === null ? Number.NaN : Math.fround(v as number)] as const) }
    })
  })

const shape = (s: Scalars) => ({ step: s.step, tags: s.values.map(([t]) => t) })

/** Starts the tiny pipeline in `out` with `sets` and interrupts it once its state.json exists; that file's path. */
const interruptOnceSaved = (out: string, sets: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const run = yield* Effect.forkChild(Start.start("pipelines/tiny.ts", { out, sets }))
    const stateOf = Effect.gen(function*() {
      const dirs = yield* fs.readDirectory(out)
      const file = dirs.length === 0 ? undefined : NodePath.join(out, dirs[0]!, RunDir.STATE)
      return file !== undefined && (yield* fs.exists(file)) ? file : undefined
    })
    let state: string | undefined
    while ((state = yield* stateOf) === undefined) yield* Effect.sleep("20 millis")
    yield* Fiber.interrupt(run)
    return state
  })

describe("Runner in-process", () => {
  it.effect("runs the tiny pipeline: config, state, metrics, samples, evaluation, checkpoints and report in the run directory", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const out = yield* fs.makeTempDirectoryScoped({ prefix: "runner-" })
      const at = (file: string) => NodePath.join(runDir, file)
      const text = (file: string) => fs.readFileString(at(file))
      const json = <S extends Schema.Top & { readonly DecodingServices: never }>(file: string, schema: S) =>
        Effect.flatMap(text(file), Schema.decodeUnknownEffect(Schema.fromJsonString(schema)))
      const size = (file: string) => Effect.map(fs.stat(at(file)), (s) => Number(s.size))

      const runDir = yield* Start.start("pipelines/tiny.ts", { out, sets })
      // the TestClock stands at the epoch: the run directory's stamp and config.json's createdAt are fixed
      assert.strictEqual(runDir, NodePath.join(out, "tiny__1__19700101T000000Z"))
      const lines = yield* TestConsole.logLines
      assert.strictEqual(lines[0], runDir)
      assert.match(String(lines[1]), /^eval: test success \d+\.\d% of 4 episodes \(avg reward \d\.\d{3}\); train success \d+\.\d%; action accuracy \d+\.\d%; action accuracy at trained states \d+\.\d%$/)
      assert.strictEqual(lines.at(-1), `report: ${at("report.html")}`)

      const config = yield* json(RunDir.CONFIG, RunDir.RunConfig)
      assert.strictEqual(config.pipeline, "tiny")
      assert.strictEqual(config.createdAt, "1970-01-01T00:00:00.000Z")
      const p = yield* Pipeline.decode(RunDir.CONFIG, config.config)
      assert.deepStrictEqual(p.stages.map((s) => s.stage), ["sft", "stepagent", "evaluate"])
      assert.strictEqual(config.hash, Pipeline.hash(yield* Pipeline.encode(RunDir.CONFIG, p)))

      // three units (an SFT epoch, a StepAgent iteration, the evaluation), the last two checkpoints kept
      const state = yield* json(RunDir.STATE, RunDir.State)
      assert.deepInclude(state, { completed: 3, units: 3, checkpoint: "checkpoints/unit-0003", backend: "tensor backend wasm (matmul xnnpack, 1 wasm thread)" })
      assert.strictEqual(state.previous?.checkpoint, "checkpoints/unit-0002")
      assert.strictEqual(state.metricsBytes, yield* size(RunDir.METRICS))
      assert.strictEqual(state.samplesBytes, yield* size(RunDir.SAMPLES))
      assert.deepStrictEqual((yield* fs.readDirectory(at("checkpoints"))).sort(), ["LATEST", "unit-0002", "unit-0003"])
      assert.strictEqual(yield* text("checkpoints/LATEST"), "unit-0003\n")
      assert.isTrue(yield* fs.exists(at("checkpoints/unit-0003/policy.weights.bin")))
      assert.isTrue(yield* fs.exists(at("tokenizer.json")))

      // metrics: the SFT steps, the StepAgent iteration's PPO steps, the evaluation
      const stages = new Set((yield* text(RunDir.METRICS)).trim().split("\n").map((l) => (JSON.parse(l) as { stage: string }).stage))
      for (const s of ["sft", "ppo", "evaluate"]) assert.isTrue(stages.has(s), `${s} in ${[...stages].join(", ")}`)
      // the StepAgent iteration's step-reward samples (the report's heatmap): at most 4 trajectories
      const samples = (yield* text(RunDir.SAMPLES)).trim().split("\n")
      assert.isTrue(samples.length >= 1 && samples.length <= 4)
      yield* Effect.forEach(samples, (s) => Schema.decodeUnknownEffect(Schema.fromJsonString(RunDir.SampledTrajectory))(s))

      // TensorBoard: one event file (named by the TestClock's epoch), holding every metric of metrics.jsonl
      const files = yield* eventFiles(runDir)
      assert.deepStrictEqual(files.map((f) => f.name), [`events.out.tfevents.0000000000.${NodeOs.hostname()}`])
      assert.deepStrictEqual(files[0]!.scalars, yield* expectedScalars(runDir))

      const summary = yield* RunDir.summary(runDir)
      assert.deepInclude(summary, { episodes: 4, env: "qa", split: "test", policy: "model" })
      assert.strictEqual(summary.outcomes?.length, 4)
      assert.strictEqual(summary.train?.episodes, 2)
      assert.isTrue((summary.actionAccuracyStates ?? 0) > 0)
      // at the expert states of the 3 trajectories the SFT stage trained on first (qa: 3-5 actions each)
      assert.isTrue((summary.trainActionAccuracyStates ?? 0) >= 6 && (summary.trainActionAccuracyStates ?? 0) <= 15, String(summary.trainActionAccuracyStates))
      // both split by the expert action's kind (qa: search, lookup, finish): the kinds' states add up, their accuracies
      // weigh up to the whole, most states first
      for (const [byKind, states, accuracy] of [
        [summary.actionAccuracyByKind, summary.actionAccuracyStates, summary.actionAccuracy],
        [summary.trainActionAccuracyByKind, summary.trainActionAccuracyStates, summary.trainActionAccuracy]
      ] as const) {
        const kinds = Object.entries(byKind ?? {})
        assert.isTrue(kinds.length >= 2 && kinds.every(([k]) => ["search", "lookup", "finish"].includes(k)), JSON.stringify(byKind))
        assert.strictEqual(kinds.reduce((n, [, v]) => n + v.states, 0), states)
        assert.closeTo(kinds.reduce((n, [, v]) => n + v.states * v.accuracy, 0) / states!, accuracy!, 1e-9)
        assert.deepStrictEqual(kinds.map(([, v]) => v.states), kinds.map(([, v]) => v.states).sort((a, b) => b - a))
      }
      assert.isTrue(yield* fs.exists(at("eval/episodes.arrows")))
      assert.isTrue(yield* fs.exists(at("report.html")))

      // complete: resume refuses; with its report gone, resume writes the report and nothing else
      assert.strictEqual((yield* Effect.flip(Resume.resume(runDir))).reason, "NothingToResume")
      yield* fs.remove(at("report.html"))
      assert.strictEqual(yield* Resume.resume(runDir), runDir)
      assert.isTrue(yield* fs.exists(at("report.html")))
      assert.strictEqual(yield* size(RunDir.METRICS), state.metricsBytes)
      assert.strictEqual((yield* fs.readDirectory(at(TensorBoard.DIR))).length, 1) // no unit ran: no new event file
    }).pipe(Effect.provide(services)), 120_000)

  it.live("an interrupted run says what is saved and how to continue, and resume finishes it", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const out = yield* fs.makeTempDirectoryScoped({ prefix: "runner-" })
      // 1 SFT epoch, then 12 StepAgent iterations (one unit each), the evaluation: interrupted after the first unit
      const state = yield* interruptOnceSaved(out, ["stages.0.epochs=1", "stages.1.iterations=12", "stages.2.n=2", "stages.2.trainEpisodes=0", "stages.2.actionAccuracyTasks=0"])
      const runDir = NodePath.dirname(state)
      const errors = (yield* TestConsole.errorLines).map(String)
      const line = errors.find((l) => l.startsWith("stepagent: interrupted"))
      assert.isDefined(line, errors.join("\n"))
      assert.match(line!, /^stepagent: interrupted; (\d+)\/14 units are saved \(checkpoints\/unit-\d{4}\), the unit under way is lost: continue with `stepagent resume (.+)`$/)
      assert.strictEqual(line!.split("stepagent resume ")[1], `${runDir}\``)
      const saved = yield* Effect.flatMap(fs.readFileString(state), Schema.decodeUnknownEffect(Schema.fromJsonString(RunDir.State)))
      assert.isTrue(saved.completed >= 1 && saved.completed < 14)
      assert.include(line!, `${saved.completed}/14 units are saved`)
      // each logged record is in metrics.jsonl and the event file alike, the one under way too
      const [file, ...more] = yield* eventFiles(runDir)
      assert.deepStrictEqual(more, [])
      assert.deepStrictEqual(file!.scalars, yield* expectedScalars(runDir))
    }).pipe(Effect.provide(Layer.mergeAll(services, TestConsole.layer))), 120_000)

  it.live("a resumed run writes a second event file: the first up to the resume point and the second are metrics.jsonl", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const out = yield* fs.makeTempDirectoryScoped({ prefix: "runner-" })
      // 4 units (an SFT epoch, 2 StepAgent iterations, the evaluation), interrupted once the first is saved
      const state = yield* interruptOnceSaved(out, ["stages.0.epochs=1", "stages.1.iterations=2", "stages.2.n=2", "stages.2.trainEpisodes=0", "stages.2.actionAccuracyTasks=0"])
      const runDir = NodePath.dirname(state)
      assert.strictEqual(yield* Resume.resume(runDir), runDir)

      const files = yield* eventFiles(runDir)
      assert.strictEqual(files.length, 2)
      const [before, after] = [files[0]!.scalars, files[1]!.scalars]
      const all = yield* expectedScalars(runDir)
      const k = all.length - after.length // records before the resume point
      assert.isTrue(k > 0 && after.length > 0)
      assert.deepStrictEqual(after, all.slice(k))
      assert.deepStrictEqual(before.slice(0, k), all.slice(0, k))
      // past the resume point the first file has the records of the unit cut short, which the resumed run logged again
      // (at the same steps under the same tags: TensorBoard's data server keeps the later ones)
      assert.deepStrictEqual(before.slice(k).map(shape), after.slice(0, before.length - k).map(shape))
    }).pipe(Effect.provide(Layer.mergeAll(services, TestConsole.layer))), 120_000)
})
