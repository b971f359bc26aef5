import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as TestClock from "effect/testing/TestClock"
import * as Progress from "../../src/pipeline/Progress.ts"

/** Plain progress lines (CI logs, nohup): one about every 15 s of the Clock, inside long units too, and a last line. */
describe("Progress.plain", () => {
  it.effect("writes a line when 15 s have passed, not on every step, and the total time at the end", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const task = yield* Progress.plain("run", 3, (l) => lines.push(l))
      yield* task.note("sft step 1")
      yield* TestClock.adjust("10 seconds")
      yield* task.note("sft step 2")
      assert.deepStrictEqual(lines, [])
      yield* TestClock.adjust("5 seconds")
      yield* task.note("sft step 3")
      assert.deepStrictEqual(lines, ["run: 0/3 sft step 3 (15 s)\n"])
      yield* task.advance(1, "sft 1/1")
      assert.strictEqual(lines.length, 1) // the next line is due 15 s after the last
      yield* TestClock.adjust("20 seconds")
      yield* task.advance(2, "evaluate")
      yield* task.done
      assert.deepStrictEqual(lines.slice(1), ["run: 3/3 evaluate (35 s)\n", "run: 3/3 done in 35.0 s\n"])
    }))
})
