import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Metrics from "../../src/metrics/Metrics.ts"

const tmpDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "stepagent-metrics-"))),
  (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
)

const record = (step: number, values: Record<string, number>): Metrics.MetricRecord => ({ stage: "sft", iteration: 0, step, values })

describe("Metrics.layerFile", () => {
  it.effect("appends one JSON line per record, in the order logged, after what the file holds", () =>
    Effect.gen(function*() {
      const file = path.join(yield* tmpDir, "metrics.jsonl")
      fs.writeFileSync(file, "{\"kept\":1}\n")
      yield* Effect.gen(function*() {
        const m = yield* Metrics.Metrics
        yield* m.log(record(0, { "loss/sft": 1.5 }))
        // logged concurrently: still whole lines, in the order the logs were made
        yield* Effect.forEach([1, 2, 3, 4], (step) => m.log(record(step, { "loss/sft": 1 / step, "grad/norm": Number.NaN })), { concurrency: "unbounded", discard: true })
      }).pipe(Effect.provide(Metrics.layerFile(file)))
      assert.strictEqual(
        fs.readFileSync(file, "utf8"),
        [
          "{\"kept\":1}",
          "{\"stage\":\"sft\",\"iteration\":0,\"step\":0,\"loss/sft\":1.5}",
          ...[1, 2, 3, 4].map((s) => `{"stage":"sft","iteration":0,"step":${s},"loss/sft":${1 / s},"grad/norm":null}`)
        ].join("\n") + "\n"
      )
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))

  it.effect("a write the file system refuses fails with MetricsError in one line, in the system's words", () =>
    Effect.gen(function*() {
      const file = path.join(yield* tmpDir, "gone", "metrics.jsonl")
      const e = yield* Effect.flip(Effect.gen(function*() {
        const m = yield* Metrics.Metrics
        yield* m.log(record(0, { "loss/sft": 1 }))
      }).pipe(Effect.provide(Metrics.layerFile(file))))
      assert.strictEqual(e._tag, "MetricsError")
      assert.strictEqual(e.path, file)
      assert.strictEqual(e.message, `${file}: cannot write (ENOENT: no such file or directory, open '${file}')`)
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer)))
})
