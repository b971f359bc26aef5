import { describe, expect, it } from "vitest"
import { fc, test } from "@fast-check/vitest"
import * as Action from "../../../src/env/shop/Action.ts"

describe("shop action parser", () => {
  it("parses search and click", () => {
    expect(Action.parse("search[blue cotton t-shirt]")).toEqual({ _tag: "search", query: "blue cotton t-shirt" })
    expect(Action.parse("  click[Buy Now] ")).toEqual({ _tag: "click", label: "Buy Now" })
    expect(Action.parse("Click[ B0ABCDEFGH ]")).toEqual({ _tag: "click", label: "B0ABCDEFGH" })
    expect(Action.parse("click[a [b] c]")).toEqual({ _tag: "click", label: "a [b] c" })
  })
  it("rejects what is not an action", () => {
    for (const bad of ["", "search", "search[]", "search[   ]", "click[x", "clickx]", "buy[x]", "click [x]", "click[x] now", "[x]"]) {
      expect(Action.parse(bad)).toBeUndefined()
    }
  })
  test.prop([fc.string({ unit: "binary" })])("never throws", (s) => {
    const a = Action.parse(s)
    if (a !== undefined) expect(a._tag === "search" ? a.query : a.label).not.toBe("")
  })
})
