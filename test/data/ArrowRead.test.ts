import { assert, describe, it } from "@effect/vitest"
import { fc, it as prop } from "@fast-check/vitest"
import * as Arrow from "apache-arrow"
import { Message as FbMessage } from "apache-arrow/fb/message"
import { Schema as FbSchema } from "apache-arrow/fb/schema"
import { Effect, Stream } from "effect"
import * as flatbuffers from "flatbuffers"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import * as ArrowCheck from "../../src/data/ArrowCheck.ts"
import * as TrajectoryArrow from "../../src/data/TrajectoryArrow.ts"
import type { DataError } from "../../src/domain/DataError.ts"
import type { Trajectory } from "../../src/domain/Trajectory.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stepagent-arrowstream-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
let fileIndex = 0
const file = (content: Uint8Array | string, name = "f.arrows") => {
  const p = path.join(dir, `${fileIndex++}-${name}`)
  fs.writeFileSync(p, content)
  return p
}

const rows: Array<Trajectory> = Array.from({ length: 40 }, (_, i) => ({
  id: `t${i}`,
  env: "shop",
  taskId: `train:${i}`,
  instruction: "find it",
  steps: [{ observation: `o${i}`, action: `a${i}` }],
  reward: 1,
  success: true,
  source: "test"
}))
const goodPath = path.join(dir, "good.arrows")
await Effect.runPromise(Stream.fromIterable(rows).pipe(TrajectoryArrow.write(goodPath, { batchSize: 10 })))
const good = fs.readFileSync(goodPath)

/** The DataError reading `p` in the text layout gives (it must fail). */
const failure = (p: string): Effect.Effect<DataError, void> => Effect.flip(Stream.runDrain(TrajectoryArrow.read(p)))

const expectOneLine = (e: DataError, p: string) => {
  assert.include(e.message, p)
  assert.notInclude(e.message, "\n")
}

/** A table with the text layout's columns, one of them replaced. */
const tableWith = (replace: Record<string, Arrow.Vector | undefined>): Uint8Array => {
  const base = Arrow.tableFromIPC(good)
  const columns: Record<string, Arrow.Vector> = {}
  for (const f of base.schema.fields) {
    if (f.name in replace) {
      const v = replace[f.name]
      if (v !== undefined) columns[f.name] = v
    } else columns[f.name] = base.getChild(f.name)!
  }
  return Arrow.tableToIPC(new Arrow.Table(columns), "stream")
}

describe("ArrowRead: bad files", () => {
  it.effect("a path that does not exist: NotFound", () =>
    Effect.gen(function*() {
      const p = path.join(dir, "missing.arrows")
      const e = yield* failure(p)
      assert.strictEqual(e.reason, "NotFound")
      expectOneLine(e, p)
    }))

  it.effect("a directory: Io", () =>
    Effect.gen(function*() {
      const e = yield* failure(dir)
      assert.strictEqual(e.reason, "Io")
      expectOneLine(e, dir)
    }))

  it.effect("an empty file, a JSON file, a text file: NotArrow", () =>
    Effect.gen(function*() {
      for (const [content, hint] of [["", "empty"], ['[{"id": 1, "conversations": []}]', "JSON"], ["hello world\n", ""]] as const) {
        const p = file(content)
        const e = yield* failure(p)
        assert.strictEqual(e.reason, "NotArrow", content)
        expectOneLine(e, p)
        assert.include(e.message, hint)
      }
    }))

  it.effect("a file truncated anywhere: NotArrow (or the rows before the cut, when cut between batches)", () =>
    Effect.gen(function*() {
      for (const cut of [3, 8, 20, 100, Math.floor(good.length / 2), good.length - 9, good.length - 1]) {
        const p = file(good.subarray(0, cut))
        const exit = yield* Effect.exit(Stream.runCollect(TrajectoryArrow.read(p)))
        if (exit._tag === "Failure") {
          const e = yield* failure(p)
          assert.strictEqual(e.reason, "NotArrow", `cut at ${cut}`)
          expectOneLine(e, p)
        } else {
          // Cut exactly at a batch boundary or in the end-of-stream marker: a prefix of the rows, never garbage.
          assert.deepStrictEqual(exit.value, rows.slice(0, exit.value.length))
        }
      }
    }))

  prop.prop([fc.uint8Array({ minLength: 0, maxLength: 300 })], { numRuns: 100, seed: 7 })(
    "random bytes never throw, never hang: a DataError (or a valid empty read)",
    (bytes) =>
      Effect.runPromise(Effect.gen(function*() {
        const p = file(bytes)
        const exit = yield* Effect.exit(Stream.runCollect(TrajectoryArrow.read(p)))
        if (exit._tag === "Failure") {
          const e = yield* failure(p)
          assert.include(["NotArrow", "WrongSchema"], e.reason)
        }
      }))
  )

  prop.prop([fc.integer({ min: 8, max: 10_000 }), fc.uint8Array({ minLength: 1, maxLength: 64 })], { numRuns: 100, seed: 11 })(
    "a good file with bytes overwritten: a DataError or rows, never a crash",
    (at, junk) =>
      Effect.runPromise(Effect.gen(function*() {
        const bytes = new Uint8Array(good)
        bytes.set(junk.subarray(0, Math.max(0, bytes.length - at)), Math.min(at, bytes.length))
        const p = file(bytes)
        const exit = yield* Effect.exit(Stream.runCollect(TrajectoryArrow.read(p)))
        if (exit._tag === "Failure") {
          const e = yield* failure(p)
          assert.include(["NotArrow", "WrongSchema"], e.reason)
          assert.include(e.message, p)
        }
      }))
  )

  it.effect("a corrupt field count in the schema message: NotArrow at once (not a loop over billions of fields)", () =>
    Effect.sync(() => {
      // Find the `fields` vector of the schema message's flatbuffer and give it 2^31 - 1 elements.
      const metaLength = new DataView(good.buffer, good.byteOffset).getInt32(4, true)
      const bb = new flatbuffers.ByteBuffer(new Uint8Array(good.subarray(8, 8 + metaLength)))
      const schema = FbMessage.getRootAsMessage(bb).header(new FbSchema()) as FbSchema
      const slot = schema.bb_pos + bb.__offset(schema.bb_pos, 6)
      const lengthAt = 8 + slot + bb.readInt32(slot)
      const bytes = new Uint8Array(good)
      new DataView(bytes.buffer).setInt32(lengthAt, 0x7fffffff, true)
      return file(bytes)
    }).pipe(
      Effect.flatMap(failure),
      Effect.map((e) => {
        assert.strictEqual(e.reason, "NotArrow")
        assert.include(e.message, "corrupt message metadata")
      })
    ))

  it.effect("Arrow with missing columns: WrongSchema naming them", () =>
    Effect.gen(function*() {
      const p = file(tableWith({ steps: undefined, reward: undefined }))
      const e = yield* failure(p)
      assert.strictEqual(e.reason, "WrongSchema")
      expectOneLine(e, p)
      assert.include(e.message, "missing columns steps, reward")
    }))

  it.effect("Arrow with a mistyped column: WrongSchema naming it and both types", () =>
    Effect.gen(function*() {
      const p = file(tableWith({ reward: Arrow.vectorFromArray(rows.map(() => "high"), new Arrow.Utf8()) }))
      const e = yield* failure(p)
      assert.strictEqual(e.reason, "WrongSchema")
      assert.include(e.message, "column reward is Utf8, expected Float64")
      const q = file(tableWith({ success: Arrow.vectorFromArray(rows.map(() => 1), new Arrow.Int32()) }))
      assert.include((yield* failure(q)).message, "column success is Int32, expected Bool")
    }))

  it.effect("nulls in a required column: WrongSchema naming the column", () =>
    Effect.gen(function*() {
      const p = file(tableWith({ id: Arrow.vectorFromArray(rows.map((r, i) => (i === 3 ? null : r.id)), new Arrow.Utf8()) }))
      const e = yield* failure(p)
      assert.strictEqual(e.reason, "WrongSchema")
      assert.include(e.message, "id has 1 null value but is required")
    }))

  it.effect("a file of another layout read as text: WrongSchema naming both layouts", () =>
    Effect.gen(function*() {
      // the text layout's columns, the metadata naming another layout: the metadata decides
      const base = Arrow.tableFromIPC(good)
      const schema = new Arrow.Schema(base.schema.fields, new Map([[ArrowCheck.layoutKey, "trajectory-tokens/1"]]))
      const other = new Arrow.Table(base.batches.map((b) => new Arrow.RecordBatch(schema, b.data)))
      const p = file(Arrow.tableToIPC(other, "stream"))
      const e = yield* failure(p)
      assert.strictEqual(e.reason, "WrongSchema")
      assert.include(e.message, "trajectory-tokens/1")
      assert.include(e.message, "trajectory-text/1")
    }))

  it.effect("extra columns and files without layout metadata are accepted (written by other Arrow tools)", () =>
    Effect.gen(function*() {
      const base = Arrow.tableFromIPC(good)
      const columns: Record<string, Arrow.Vector> = { extra: Arrow.vectorFromArray(rows.map((_, i) => i), new Arrow.Int32()) }
      for (const f of base.schema.fields) columns[f.name] = base.getChild(f.name)!
      const p = file(Arrow.tableToIPC(new Arrow.Table(columns), "stream"))
      assert.deepStrictEqual(yield* Stream.runCollect(TrajectoryArrow.read(p)), rows)
    }))

  it.effect("an Arrow IPC *file* (.arrow) is read too", () =>
    Effect.gen(function*() {
      const p = file(Arrow.tableToIPC(Arrow.tableFromIPC(good), "file"), "f.arrow")
      assert.deepStrictEqual(yield* Stream.runCollect(TrajectoryArrow.read(p)), rows)
    }))
})
