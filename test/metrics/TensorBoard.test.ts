import * as NodePath from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem } from "effect"
import * as TestClock from "effect/testing/TestClock"
import * as Metrics from "../../src/metrics/Metrics.ts"
import * as TensorBoard from "../../src/metrics/TensorBoard.ts"
import * as Reader from "./EventFileReader.ts"

const bytes = (s: string) => new TextEncoder().encode(s)
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

const config = "{\n  \"pipeline\": \"tiny\",\n  \"seed\": 1\n}\n"

const records: ReadonlyArray<Metrics.MetricRecord> = [
  { stage: "sft", iteration: 0, step: 1, values: { "loss/sft": 1.5, "grad/norm": 0.1, lr: 3e-4 } },
  { stage: "sft", iteration: 0, step: 2, values: { "loss/sft": 1.25, "grad/norm": Number.NaN, lr: 3e-4 } },
  // the same metric names in another stage, at steps the first stage used: other tags
  { stage: "ppo", iteration: 0, step: 1, values: { "grad/norm": 0.3, "policy/approxkl": 1e-9, "big": 1e39, "zero": 0, "neg": -2.75 } },
  { stage: "evaluate", iteration: 0, step: 200, values: { "eval/success_rate": 0.345 } }
]

/** Writes `records` through the sink at Clock time `ms` into `dir`; returns the files of `dir/tb`. */
const write = (dir: string, ms: number, logged: ReadonlyArray<Metrics.MetricRecord>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(ms)
    yield* Effect.gen(function*() {
      const m = yield* Metrics.Metrics
      for (const r of logged) {
        yield* m.log(r)
        yield* TestClock.adjust("250 millis")
      }
    }).pipe(Effect.provide(TensorBoard.layerFile({ dir: NodePath.join(dir, "tb"), config, hostname: "testhost" })))
    const fs = yield* FileSystem.FileSystem
    return (yield* fs.readDirectory(NodePath.join(dir, "tb"))).sort()
  })

describe("TensorBoard encoding", () => {
  it("masked CRC-32C: TensorBoard's own vectors (RFC 3720's 32 zero bytes; a real record's data), library and test table alike", () => {
    const mask = (c: number) => (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0
    assert.strictEqual(Reader.crc32c(new Uint8Array(32)), 0x8a9136aa)
    assert.strictEqual(Reader.crc32c(bytes("123456789")), 0xe3069283)
    for (const f of [TensorBoard.maskedCrc32c, Reader.masked]) {
      assert.strictEqual(f(new Uint8Array(32)), mask(0x8a9136aa))
      assert.strictEqual(f(bytes("\x1a\x11CRC test, one two")), 0x5794d08a)
    }
  })

  it("the file-version event as TensorFlow writes it: wall_time (double, 1), file_version (3)", () => {
    assert.strictEqual(hex(TensorBoard.fileVersionEvent(1.5)), "09" + "000000000000f83f" + "1a0d" + hex(bytes("brain.Event:2")))
    const framed = TensorBoard.frame(TensorBoard.fileVersionEvent(0))
    // length 15, little endian, then its masked CRC; the data; the data's masked CRC
    assert.strictEqual(hex(framed.subarray(0, 8)), "0f00000000000000")
    assert.deepStrictEqual(Reader.records(framed), { data: [bytes("\x1a\x0dbrain.Event:2")], truncated: false })
  })

  it("tags: <stage>/<metric>; file names: TensorFlow's, seconds in 10 digits", () => {
    assert.strictEqual(TensorBoard.tag("sft", "loss/sft"), "sft/loss/sft")
    assert.strictEqual(TensorBoard.fileName(1_700_000_000.9, "h"), "events.out.tfevents.1700000000.h")
    assert.strictEqual(TensorBoard.fileName(0, "h"), "events.out.tfevents.0000000000.h")
    assert.strictEqual(TensorBoard.codeBlock("a ``` b\n", "json"), "````json\na ``` b\n````\n")
  })
})

describe("TensorBoard.layerFile", () => {
  it.effect("writes file_version first, the config text at step 0, then every metric of every record as a scalar", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "tb-" })
      const files = yield* write(dir, 1_700_000_000_500, records)
      assert.deepStrictEqual(files, ["events.out.tfevents.1700000000.testhost"])
      const { events, truncated } = Reader.read(yield* fs.readFile(NodePath.join(dir, "tb", files[0]!)))
      assert.isFalse(truncated)
      assert.strictEqual(events.length, 2 + records.length)
      assert.deepStrictEqual(events[0], { wallTime: 1_700_000_000.5, step: 0, fileVersion: "brain.Event:2" })
      const [text] = events[1]!.values!
      assert.deepStrictEqual(events[1], {
        wallTime: 1_700_000_000.5,
        step: 0,
        values: [{ tag: "config", pluginName: "text", tensor: { dtype: 7, rank: 0, strings: ["```json\n" + config + "```\n"] } }]
      })
      assert.strictEqual(text!.tensor!.strings[0]!.split("\n").slice(1, -2).join("\n") + "\n", config)
      records.forEach((r, i) => {
        const e = events[2 + i]!
        assert.strictEqual(e.wallTime, 1_700_000_000.5 + 0.25 * i)
        assert.strictEqual(e.step, r.step)
        assert.deepStrictEqual(
          e.values,
          Object.entries(r.values).map(([k, v]) => ({ tag: `${r.stage}/${k}`, simpleValue: Math.fround(v) }))
        )
      })
      // float32: 0.1 is rounded, 1e39 overflows to Infinity, NaN stays NaN
      assert.notStrictEqual(events[2]!.values![1]!.simpleValue, 0.1)
      assert.isNaN(events[3]!.values![1]!.simpleValue!)
      assert.strictEqual(events[4]!.values![2]!.simpleValue, Number.POSITIVE_INFINITY)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("the test reader detects a corrupted data CRC and a corrupted length, and stops at a last record cut short", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "tb-" })
      const [name] = yield* write(dir, 0, records)
      const file = yield* fs.readFile(NodePath.join(dir, "tb", name!))
      assert.strictEqual(Reader.read(file).events.length, 6)
      const flipped = (at: number) => {
        const copy = Uint8Array.from(file) // a copy (a Buffer's slice is a view)
        copy[at] = copy[at]! ^ 0x01
        return copy
      }
      assert.throws(() => Reader.read(flipped(file.length - 5)), /record 5: data CRC mismatch/) // a byte of the last record's data
      assert.throws(() => Reader.read(flipped(file.length - 1)), /record 5: data CRC mismatch/) // its CRC itself
      assert.throws(() => Reader.read(flipped(0)), /record 0: length CRC mismatch/)
      // a run killed mid-write: the complete records are read, the cut one is reported
      const cut = Reader.read(file.subarray(0, file.length - 3))
      assert.isTrue(cut.truncated)
      assert.strictEqual(cut.events.length, 5)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("another sink in the same directory at the same second (a quick resume) writes a new file beside the first", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "tb-" })
      yield* write(dir, 5_000, records.slice(0, 2))
      const files = yield* write(dir, 5_900, records.slice(1))
      assert.deepStrictEqual(files, ["events.out.tfevents.0000000005.testhost", "events.out.tfevents.0000000005.testhost.1"])
      const second = Reader.read(yield* fs.readFile(NodePath.join(dir, "tb", files[1]!))).events
      assert.strictEqual(second[0]!.fileVersion, "brain.Event:2")
      assert.deepStrictEqual(second.slice(2).map((e) => e.step), [2, 1, 200])
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("a directory the file system refuses fails with MetricsError naming it", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "tb-" })
      const blocker = NodePath.join(dir, "tb")
      yield* fs.writeFileString(blocker, "a file where the directory should be")
      const e = yield* Effect.flip(Effect.gen(function*() {
        yield* Metrics.Metrics
      }).pipe(Effect.provide(TensorBoard.layerFile({ dir: blocker, hostname: "h" }))))
      assert.strictEqual(e._tag, "MetricsError")
      assert.strictEqual(e.path, blocker)
      assert.match(e.message, new RegExp(`^${blocker}: cannot write \\(EEXIST`))
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
})

describe("Metrics.tee", () => {
  it.effect("logs each record to both sinks, the first first", () =>
    Effect.gen(function*() {
      const a: Array<Metrics.MetricRecord> = []
      const b: Array<Metrics.MetricRecord> = []
      yield* Effect.gen(function*() {
        const m = yield* Metrics.Metrics
        for (const r of records) yield* m.log(r)
      }).pipe(Effect.provide(Metrics.tee(Metrics.layerMemory(a), Metrics.layerMemory(b))))
      assert.deepStrictEqual(a, records)
      assert.deepStrictEqual(b, records)
    }))
})
