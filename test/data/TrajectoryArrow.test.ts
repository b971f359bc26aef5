import { assert, describe, it } from "@effect/vitest"
import { fc, it as prop } from "@fast-check/vitest"
import * as Arrow from "apache-arrow"
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import * as TrajectoryArrow from "../../src/data/TrajectoryArrow.ts"
import type { DataError } from "../../src/domain/DataError.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stepagent-trajarrow-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
let fileIndex = 0
const tmp = (name = "t") => path.join(dir, `${name}-${fileIndex++}.arrows`)

// Text that round-trips through UTF-8: ASCII, any code point, graphemes, and the empty string.
// (Lone UTF-16 surrogates have no UTF-8 encoding: they would come back as U+FFFD.)
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 6 }),
  fc.constant("")
)

const step = fc.record(
  { observation: text, thought: text, action: text, raw: text },
  { requiredKeys: ["observation", "action"] }
)

const trajectory: fc.Arbitrary<Trajectory> = fc.record(
  {
    id: text,
    env: fc.constantFrom("shop", "house", "qa", "ünï"),
    taskId: text,
    instruction: text,
    ack: text,
    steps: fc.array(step, { maxLength: 4 }),
    finalObservation: text,
    reward: fc.double(),
    success: fc.boolean(),
    source: text,
    turnLoss: fc.array(fc.option(fc.boolean(), { nil: null }), { maxLength: 5 })
  },
  { requiredKeys: ["id", "env", "taskId", "instruction", "steps", "reward", "success", "source"] }
)

const sample: ReadonlyArray<Trajectory> = [
  {
    id: "a",
    env: "shop",
    taskId: "train:0",
    instruction: "buy a shirt",
    ack: "OK",
    steps: [{ observation: "o1", thought: "I search", action: "search[shirt]" }, { observation: "ö2 ✓", action: "click[x]", raw: "click[x] " }],
    reward: 1,
    success: true,
    source: "eto",
    turnLoss: [true, null, false]
  },
  { id: "b", env: "house", taskId: "test:1", instruction: "", steps: [], finalObservation: "end", reward: 0, success: false, source: "rollout" }
]

const many = (n: number, stepsPer = 3): Array<Trajectory> =>
  Array.from({ length: n }, (_, i) => ({
    id: `t${i}`,
    env: i % 3 === 0 ? "shop" : "house",
    taskId: `train:${i}`,
    instruction: `task ${i}`,
    steps: Array.from({ length: stepsPer }, (_, j) => ({ observation: `obs ${i}.${j}`, action: `act ${i}.${j}` })),
    reward: i / n,
    success: i % 2 === 0,
    source: "generated:test"
  }))

const writeAll = (p: string, rows: ReadonlyArray<Trajectory>, batchSize?: number) =>
  Stream.fromIterable(rows).pipe(TrajectoryArrow.write(p, batchSize === undefined ? undefined : { batchSize }))

describe("TrajectoryArrow", () => {
  it.effect("writes and reads back a hand-written sample, optional fields absent and present", () =>
    Effect.gen(function*() {
      const p = tmp()
      const written = yield* writeAll(p, sample)
      assert.strictEqual(written, 2)
      const back = yield* Stream.runCollect(TrajectoryArrow.read(p))
      assert.deepStrictEqual(back, [...sample])
      // Absent optional fields are absent keys, never `undefined` values.
      assert.isFalse("ack" in back[1]!)
      assert.isFalse("thought" in back[0]!.steps[1]!)
      assert.isFalse("turnLoss" in back[1]!)
    }))

  prop.prop([fc.array(trajectory, { maxLength: 12 }), fc.integer({ min: 1, max: 5 })], { numRuns: 40, seed: 42 })(
    "write then read is the identity (unicode, empty strings, optional fields, 0 steps, any batch size)",
    async (rows, batchSize) => {
      const p = tmp("prop")
      const back = await Effect.runPromise(Effect.flatMap(writeAll(p, rows, batchSize), () => Stream.runCollect(TrajectoryArrow.read(p))))
      fs.rmSync(p)
      assert.deepStrictEqual(back, rows)
    }
  )

  it.effect("an empty stream gives a valid file with the schema and no rows", () =>
    Effect.gen(function*() {
      const p = tmp()
      assert.strictEqual(yield* writeAll(p, []), 0)
      assert.deepStrictEqual(yield* Stream.runCollect(TrajectoryArrow.read(p)), [])
      const table = Arrow.tableFromIPC(fs.readFileSync(p))
      assert.strictEqual(table.schema.metadata.get("stepagent.schema"), TrajectoryArrow.layout)
      assert.deepStrictEqual(table.schema.fields.map((f) => f.name), TrajectoryArrow.schema.fields.map((f) => f.name))
    }))

  it.effect("writes batchSize rows a batch and the files are plain Arrow (read by Arrow's own reader)", () =>
    Effect.gen(function*() {
      const p = tmp()
      yield* writeAll(p, many(25), 10)
      const batches = yield* Stream.runCollect(TrajectoryArrow.readBatches(p))
      assert.deepStrictEqual(batches.map((b) => b.numRows), [10, 10, 5])
      const table = Arrow.tableFromIPC(fs.readFileSync(p))
      assert.strictEqual(table.numRows, 25)
      const row = table.get(13)!.toJSON() as { id: string; reward: number; steps: Arrow.Vector }
      assert.strictEqual(row.id, "t13")
      assert.strictEqual(row.reward, 13 / 25)
      assert.strictEqual(row.steps.length, 3)
    }))

  it.effect("decodes sliced batches (offsets relative to the slice)", () =>
    Effect.sync(() => {
      const rows = [...sample, ...many(6)]
      const batch = TrajectoryArrow.toRecordBatch(rows)
      assert.deepStrictEqual(TrajectoryArrow.decodeBatch(batch.slice(1, 6)), rows.slice(1, 6))
      assert.deepStrictEqual(TrajectoryArrow.decodeBatch(batch.slice(0, 1)), rows.slice(0, 1))
    }))

  it.effect("reads lazily: the first batch of a file whose tail is corrupt reads fine; the whole file does not", () =>
    Effect.gen(function*() {
      const p = tmp()
      yield* writeAll(p, many(2000), 20) // 100 batches
      const size = fs.statSync(p).size
      fs.truncateSync(p, Math.floor(size / 2))
      let pulled = 0
      const first = yield* TrajectoryArrow.readBatches(p).pipe(
        Stream.tap(() => Effect.sync(() => void pulled++)),
        Stream.take(2),
        Stream.runCollect
      )
      assert.deepStrictEqual(first.map((b) => b.numRows), [20, 20])
      assert.strictEqual(pulled, 2)
      const t = yield* TrajectoryArrow.read(p).pipe(Stream.take(1), Stream.runCollect)
      assert.strictEqual(t[0]!.id, "t0")
      const e = yield* Effect.flip(Stream.runDrain(TrajectoryArrow.read(p)))
      assert.strictEqual(e.reason, "NotArrow")
      assert.include(e.message, p)
    }))

  it.effect("pulls the input only as fast as batches reach the disk (backpressure)", () =>
    Effect.gen(function*() {
      const p = tmp()
      const tmpFile = `${p}.tmp-${process.pid}`
      const sizeAtPull: Array<number> = []
      const source = Stream.fromIterable(many(50), { chunkSize: 1 }).pipe(
        Stream.tap(() => Effect.sync(() => void sizeAtPull.push(fs.existsSync(tmpFile) ? fs.statSync(tmpFile).size : -1)))
      )
      yield* source.pipe(TrajectoryArrow.write(p, { batchSize: 10 }))
      // When the first row of batch k is pulled, batches 0..k-1 are already on disk.
      const atBatchStarts = [0, 10, 20, 30, 40].map((i) => sizeAtPull[i]!)
      assert.strictEqual(atBatchStarts[0], 0)
      for (let k = 1; k < atBatchStarts.length; k++) assert.isAbove(atBatchStarts[k]!, atBatchStarts[k - 1]!)
      // Within a batch nothing is written.
      assert.strictEqual(sizeAtPull[15], sizeAtPull[11])
    }))

  it.effect("is atomic: a failing input leaves no file and no temporary file; an existing file is untouched", () =>
    Effect.gen(function*() {
      const sub = fs.mkdtempSync(path.join(dir, "atomic-"))
      const p = path.join(sub, "out.arrows")
      const failing = Stream.fromIterable(many(35), { chunkSize: 1 }).pipe(
        Stream.mapEffect((t) => (t.id === "t33" ? Effect.fail("boom" as const) : Effect.succeed(t)))
      )
      const e1 = yield* Effect.flip(failing.pipe(TrajectoryArrow.write(p, { batchSize: 10 })))
      assert.strictEqual(e1, "boom")
      assert.deepStrictEqual(fs.readdirSync(sub), [])
      yield* writeAll(p, sample)
      const before = fs.readFileSync(p)
      const e2 = yield* Effect.flip(failing.pipe(TrajectoryArrow.write(p, { batchSize: 10 })))
      assert.strictEqual(e2, "boom")
      assert.deepStrictEqual(fs.readdirSync(sub), ["out.arrows"])
      assert.isTrue(fs.readFileSync(p).equals(before))
    }))

  it.live("interruption also removes the temporary file", () =>
    Effect.gen(function*() {
      const sub = fs.mkdtempSync(path.join(dir, "interrupt-"))
      const p = path.join(sub, "out.arrows")
      const endless = Stream.fromIterable(many(30), { chunkSize: 1 }).pipe(Stream.concat(Stream.never))
      yield* endless.pipe(TrajectoryArrow.write(p, { batchSize: 10 }), Effect.timeout("50 millis"), Effect.ignore)
      assert.deepStrictEqual(fs.readdirSync(sub), [])
    }))

  it.effect("a directory that does not exist is an Io/NotFound error naming the file", () =>
    Effect.gen(function*() {
      const p = path.join(dir, "no-such-dir", "x.arrows")
      const e: DataError = yield* Effect.flip(writeAll(p, sample))
      assert.strictEqual(e.reason, "NotFound")
      assert.include(e.message, p)
    }))
})
