import { assert, describe, it } from "@effect/vitest"
import { fc, it as prop } from "@fast-check/vitest"
import * as Arrow from "apache-arrow"
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import * as TokenizedArrow from "../../src/data/TokenizedArrow.ts"
import * as Tokenized from "../../src/domain/Tokenized.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stepagent-tokarrow-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
let fileIndex = 0
const tmp = () => path.join(dir, `t-${fileIndex++}.arrows`)

const tokenized: fc.Arbitrary<Tokenized.TokenizedTrajectory> = fc.record({
  id: fc.string({ maxLength: 8 }),
  env: fc.constantFrom("shop", "house", "qa"),
  taskId: fc.string({ maxLength: 8 }),
  reward: fc.double(),
  success: fc.boolean(),
  tokens: fc.int32Array({ maxLength: 40 }),
  spans: fc.array(fc.nat(40), { maxLength: 3 }).map((steps) => Int32Array.from(steps.flatMap((s) => [s, s + 1, s + 1, s + 2])))
})

/** Plain values for comparison (typed arrays compared element by element). */
const plain = (t: Tokenized.TokenizedTrajectory) => ({ ...t, tokens: Array.from(t.tokens), spans: Array.from(t.spans) })

const rowsOf = (n: number, len = 7): Array<Tokenized.TokenizedTrajectory> =>
  Array.from({ length: n }, (_, i) => ({
    id: `t${i}`,
    env: "shop",
    taskId: `train:${i}`,
    reward: i,
    success: i % 2 === 0,
    tokens: Int32Array.from({ length: len + i }, (_, j) => 1000 * i + j),
    spans: Int32Array.from([0, 2, 2, 4])
  }))

describe("TokenizedArrow", () => {
  prop.prop([fc.array(tokenized, { maxLength: 10 }), fc.integer({ min: 1, max: 4 })], { numRuns: 40, seed: 1 })(
    "write then read is the identity (empty token lists, 0 steps, any batch size)",
    async (rows, batchSize) => {
      const p = tmp()
      const back = await Effect.runPromise(
        Effect.flatMap(Stream.fromIterable(rows).pipe(TokenizedArrow.write(p, { batchSize })), () => Stream.runCollect(TokenizedArrow.read(p)))
      )
      fs.rmSync(p)
      assert.deepStrictEqual(back.map(plain), rows.map(plain))
      for (const t of back) {
        assert.instanceOf(t.tokens, Int32Array)
        assert.instanceOf(t.spans, Int32Array)
      }
    }
  )

  it.effect("toRecordBatch concatenates once; decoded rows are views of that one buffer (no copy)", () =>
    Effect.sync(() => {
      const rows = rowsOf(5)
      const batch = TokenizedArrow.toRecordBatch(rows)
      const values = (batch.getChild("tokens")!.data[0]!.children[0] as Arrow.Data<Arrow.Int32>).values
      assert.strictEqual(values.length, rows.reduce((n, r) => n + r.tokens.length, 0))
      const back = TokenizedArrow.decodeBatch(batch)
      for (const t of back) assert.strictEqual(t.tokens.buffer, values.buffer)
      // A write through a view is seen by the batch: same memory.
      back[3]!.tokens[1] = -7
      assert.strictEqual(batch.getChild("tokens")!.get(3)!.get(1), -7)
      assert.deepStrictEqual(Array.from(back[2]!.tokens), Array.from(rows[2]!.tokens))
    }))

  it.effect("rows read from a file are views into the record batch's Arrow buffer (no copy)", () =>
    Effect.gen(function*() {
      const p = tmp()
      const rows = rowsOf(30)
      yield* Stream.fromIterable(rows).pipe(TokenizedArrow.write(p, { batchSize: 8 }))
      const batches = yield* Stream.runCollect(TokenizedArrow.readBatches(p))
      assert.deepStrictEqual(batches.map((b) => b.numRows), [8, 8, 8, 6])
      let seen = 0
      for (const batch of batches) {
        const tokens = batch.getChild("tokens")!.data[0]!
        const spans = batch.getChild("spans")!.data[0]!
        const tokenValues = (tokens.children[0] as Arrow.Data<Arrow.Int32>).values
        const spanValues = (spans.children[0] as Arrow.Data<Arrow.Int32>).values
        for (const t of TokenizedArrow.decodeBatch(batch)) {
          assert.strictEqual(t.tokens.buffer, tokenValues.buffer)
          assert.strictEqual(t.spans.buffer, spanValues.buffer)
          // Bounded by the offsets, not by the (padded) buffer.
          assert.deepStrictEqual(Array.from(t.tokens), Array.from(rows[seen]!.tokens))
          seen++
        }
      }
      assert.strictEqual(seen, 30)
    }))

  it.effect("decodes sliced batches (offsets relative to the slice)", () =>
    Effect.sync(() => {
      const rows = rowsOf(9)
      const sliced = TokenizedArrow.decodeBatch(TokenizedArrow.toRecordBatch(rows).slice(2, 7))
      assert.deepStrictEqual(sliced.map(plain), rows.slice(2, 7).map(plain))
    }))

  it.effect("records the tokenizer hash in the schema metadata", () =>
    Effect.gen(function*() {
      const p = tmp()
      yield* Stream.fromIterable(rowsOf(3)).pipe(TokenizedArrow.write(p, { tokenizerHash: "abc123" }))
      assert.strictEqual(yield* TokenizedArrow.tokenizerHash(p), "abc123")
      assert.strictEqual((yield* Stream.runCollect(TokenizedArrow.read(p))).length, 3)
      const q = tmp()
      yield* Stream.fromIterable(rowsOf(1)).pipe(TokenizedArrow.write(q))
      assert.isUndefined(yield* TokenizedArrow.tokenizerHash(q))
    }))

  it.effect("a file with missing and mistyped columns is refused with WrongSchema naming them", () =>
    Effect.gen(function*() {
      const p = tmp()
      fs.writeFileSync(p, Arrow.tableToIPC(Arrow.tableFromArrays({ id: ["a"], tokens: Int32Array.from([1]) }), "stream"))
      const e = yield* Effect.flip(Stream.runDrain(TokenizedArrow.read(p)))
      assert.strictEqual(e.reason, "WrongSchema")
      assert.include(e.message, "missing columns env, taskId, reward, success, spans")
      assert.include(e.message, "column tokens is Int32, expected List<Int32>")
    }))

  it.effect("span accessors of src/domain/Tokenized.ts work on read views", () =>
    Effect.gen(function*() {
      const p = tmp()
      yield* Stream.fromIterable(rowsOf(2)).pipe(TokenizedArrow.write(p))
      const [t] = yield* Stream.runCollect(TokenizedArrow.read(p).pipe(Stream.take(1)))
      assert.strictEqual(Tokenized.stepCount(t!), 1)
      assert.deepStrictEqual([Tokenized.obsStart(t!, 0), Tokenized.obsEnd(t!, 0), Tokenized.actStart(t!, 0), Tokenized.actEnd(t!, 0)], [0, 2, 2, 4])
    }))
})
