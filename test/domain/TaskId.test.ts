import { describe, expect, it } from "vitest"
import { fc, test } from "@fast-check/vitest"
import * as TaskId from "../../src/domain/TaskId.ts"

describe("TaskId", () => {
  it("parses split and index", () => {
    expect(TaskId.parse("train:0")).toEqual({ split: "train", index: 0 })
    expect(TaskId.parse("test:17")).toEqual({ split: "test", index: 17 })
  })
  it("rejects what is not a task id", () => {
    for (const bad of ["", "train", "train:", "dev:1", "train:01", "train:-1", "test:1.5", " train:1", "train:99999999999999999999"]) {
      expect(TaskId.parse(bad)).toBeUndefined()
    }
  })
  test.prop([fc.constantFrom("train" as const, "test" as const), fc.nat()])("format then parse is the identity", (split, index) => {
    expect(TaskId.parse(TaskId.format({ split, index }))).toEqual({ split, index })
  })
  test.prop([fc.string()])("never throws on arbitrary text", (s) => {
    const r = TaskId.parse(s)
    if (r !== undefined) expect(TaskId.format(r)).toBe(s)
  })
})
