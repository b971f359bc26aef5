import { assert, describe, it } from "@effect/vitest"
import { fc, it as prop } from "@fast-check/vitest"
import * as Arrow from "apache-arrow"
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import * as ArrowColumns from "../../src/data/ArrowColumns.ts"
import * as Inspect from "../../src/data/Inspect.ts"
import * as TrajectoryArrow from "../../src/data/TrajectoryArrow.ts"
import { actionTrained, type Trajectory } from "../../src/domain/Trajectory.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stepagent-inspect-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
let fileIndex = 0
const tmp = () => path.join(dir, `i-${fileIndex++}.arrows`)

const traj = (env: string, steps: number, reward: number, success: boolean): Trajectory => ({
  id: `${env}-${steps}`,
  env,
  taskId: "train:0",
  instruction: "do it",
  steps: Array.from({ length: steps }, (_, j) => ({ observation: `o${j}`, action: `a${j}` })),
  reward,
  success,
  source: "test"
})

/** Statistics computed the slow, obvious way from decoded trajectories. */
const naive = (rows: ReadonlyArray<Trajectory>) => {
  const n = rows.length
  const steps = rows.reduce((s, r) => s + r.steps.length, 0)
  const envs: Record<string, number> = {}
  for (const e of rows.map((r) => r.env).sort()) envs[e] = (envs[e] ?? 0) + 1
  return {
    trajectories: n,
    steps,
    envs,
    meanSteps: n === 0 ? 0 : steps / n,
    meanReward: n === 0 ? 0 : rows.reduce((s, r) => s + r.reward, 0) / n,
    successRate: n === 0 ? 0 : rows.filter((r) => r.success).length / n,
    untrainedActions: rows.reduce((u, r) => u + r.steps.filter((_, i) => !actionTrained(r, i)).length, 0)
  }
}

const write = (rows: ReadonlyArray<Trajectory>, batchSize: number) =>
  Effect.gen(function*() {
    const p = tmp()
    yield* Stream.fromIterable(rows).pipe(TrajectoryArrow.write(p, { batchSize }))
    return p
  })

const corpus = path.join(dir, "corpus.arrows")
await Effect.runPromise(
  Stream.range(0, 59).pipe(Stream.map((i) => traj(["shop", "qa", "house"][i % 3]!, i % 5, i % 2, i % 3 === 0)), TrajectoryArrow.write(corpus, { batchSize: 16 }))
)

describe("Inspect", () => {
  it.effect("counts trajectories, steps, environments, rewards and successes", () =>
    Effect.gen(function*() {
      const rows = [traj("shop", 3, 1, true), traj("house", 0, 0, false), traj("shop", 5, 0.5, true), traj("qa", 2, 0, false)]
      const p = yield* write(rows, 3)
      const s = yield* Inspect.stats(p)
      assert.deepStrictEqual(s, {
        trajectories: 4,
        steps: 10,
        envs: { house: 1, qa: 1, shop: 2 },
        meanSteps: 2.5,
        meanReward: 0.375,
        successRate: 0.5,
        untrainedActions: 0,
        batches: 2
      })
      assert.deepStrictEqual(Object.keys(s.envs), ["house", "qa", "shop"])
    }))

  it.effect("an empty file gives zeros, never NaN", () =>
    Effect.gen(function*() {
      const s = yield* Inspect.stats(yield* write([], 10))
      assert.deepStrictEqual(s, { trajectories: 0, steps: 0, envs: {}, meanSteps: 0, meanReward: 0, successRate: 0, untrainedActions: 0, batches: 0 })
    }))

  prop.prop(
    [
      fc.array(
        fc.record({
          env: fc.constantFrom("shop", "house", "qa", "", "ü"),
          steps: fc.nat(6),
          reward: fc.integer({ min: -4, max: 4 }).map((x) => x / 4),
          success: fc.boolean()
        }),
        { maxLength: 40 }
      ),
      fc.integer({ min: 1, max: 9 })
    ],
    { numRuns: 40, seed: 9 }
  )("equals the statistics of the decoded trajectories, whatever the batching", (specs, batchSize) =>
    Effect.runPromise(Effect.gen(function*() {
      const rows = specs.map((s) => traj(s.env, s.steps, s.reward, s.success))
      const { batches: _, ...rest } = yield* Inspect.stats(yield* write(rows, batchSize))
      const expected = naive(rows)
      assert.deepStrictEqual({ ...rest, meanReward: 0, meanSteps: 0 }, { ...expected, meanReward: 0, meanSteps: 0 })
      assert.closeTo(rest.meanReward, expected.meanReward, 1e-12)
      assert.closeTo(rest.meanSteps, expected.meanSteps, 1e-12)
    })))

  it.effect("counts the actions flagged as no target as Trajectory.actionTrained reads the flags", () =>
    Effect.gen(function*() {
      const flagged = (t: Trajectory, turnLoss: ReadonlyArray<boolean | null>): Trajectory => ({ ...t, turnLoss })
      const rows = [
        flagged(traj("house", 3, 1, true), [null, false, null, true, null, false, null, false]), // steps 1 and 2
        flagged(traj("house", 2, 1, true), [null, false, null, false]), // the wrong length: ignored
        flagged(traj("house", 2, 1, true), [null, false, null, null, null, true]), // null and true: trained
        traj("qa", 2, 0, false)
      ]
      const s = yield* Inspect.stats(yield* write(rows, 2))
      assert.strictEqual(s.untrainedActions, rows.reduce((n, t) => n + t.steps.filter((_, i) => !actionTrained(t, i)).length, 0))
      assert.strictEqual(s.untrainedActions, 2)
    }))

  it.effect("describes the schema: layout and columns", () =>
    Effect.gen(function*() {
      const { schema: d, trajectories } = yield* Inspect.inspect(yield* write([traj("shop", 1, 1, true)], 10))
      assert.strictEqual(trajectories, 1)
      assert.strictEqual(d.layout, TrajectoryArrow.layout)
      assert.deepStrictEqual(d.columns.map((c) => c.name), TrajectoryArrow.schema.fields.map((f) => f.name))
      assert.deepInclude(d.columns, { name: "reward", type: "Float64", nullable: false })
    }))

  it.effect("scans batches through one reused buffer (memory flat whatever the file size)", () =>
    Effect.gen(function*() {
      const p = yield* write(Array.from({ length: 30 }, (_, i) => traj(i % 2 === 0 ? "shop" : "qa", i % 4, 1, true)), 4)
      const buffers = yield* Effect.scoped(Effect.gen(function*() {
        const { batches } = yield* TrajectoryArrow.openScan(p)
        return yield* Stream.runCollect(Stream.map(batches, (b) => ArrowColumns.column<Arrow.Float64>(b, "reward").values.buffer))
      }))
      assert.strictEqual(buffers.length, 8)
      assert.isTrue(buffers.every((b) => b === buffers[0]))
    }))

  it.effect("falls back to the ordinary reader for an IPC file and for extra dictionary-encoded columns", () =>
    Effect.gen(function*() {
      const rows = [traj("shop", 2, 1, true), traj("qa", 3, 0, false)]
      const p = yield* write(rows, 1)
      const table = Arrow.tableFromIPC(fs.readFileSync(p))
      const asFile = path.join(dir, "as-file.arrow")
      fs.writeFileSync(asFile, Arrow.tableToIPC(table, "file"))
      const withDict = path.join(dir, "with-dict.arrows")
      const columns: Record<string, Arrow.Vector> = { tag: Arrow.vectorFromArray(["a", "b"]) } // strings become a dictionary
      for (const f of table.schema.fields) columns[f.name] = table.getChild(f.name)!
      fs.writeFileSync(withDict, Arrow.tableToIPC(new Arrow.Table(columns), "stream"))
      for (const f of [asFile, withDict]) {
        const { batches: _, ...s } = yield* Inspect.stats(f)
        assert.deepStrictEqual(s, naive(rows), f)
      }
      assert.strictEqual((yield* Inspect.stats(p)).batches, 2)
    }))

  prop.prop([fc.integer({ min: 0, max: 4000 }), fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.boolean()], { numRuns: 100, seed: 21 })(
    "corrupt or truncated files give a DataError, never a crash or a hang",
    (at, junk, truncate) =>
      Effect.runPromise(Effect.gen(function*() {
        const good = fs.readFileSync(corpus)
        const bytes = truncate ? good.subarray(0, at % good.length) : new Uint8Array(good)
        if (!truncate) bytes.set(junk.subarray(0, Math.max(0, bytes.length - at)), Math.min(at, bytes.length))
        const p = path.join(dir, "corrupt.arrows")
        fs.writeFileSync(p, bytes)
        const exit = yield* Effect.exit(Inspect.stats(p))
        if (exit._tag === "Failure") {
          const e = yield* Effect.flip(Inspect.stats(p))
          assert.include(["NotArrow", "WrongSchema"], e.reason)
          assert.include(e.message, p)
        }
      }))
  )

  it.effect("bad files fail with the reader's DataError", () =>
    Effect.gen(function*() {
      const missing = path.join(dir, "nope.arrows")
      assert.strictEqual((yield* Effect.flip(Inspect.stats(missing))).reason, "NotFound")
      const json = path.join(dir, "x.json")
      fs.writeFileSync(json, "{}")
      assert.strictEqual((yield* Effect.flip(Inspect.stats(json))).reason, "NotArrow")
    }))
})
