import { describe, expect, it } from "vitest"
import * as fc from "fast-check"
import { kindOf } from "../../src/stages/ActionAccuracy.ts"

describe("ActionAccuracy.kindOf", () => {
  it("is the action's first word, up to a space or a bracket, lower-cased", () => {
    expect(kindOf("go to drawer 3")).toBe("go")
    expect(kindOf("take pencil 2 from drawer 6")).toBe("take")
    expect(kindOf("click[Buy Now]")).toBe("click")
    expect(kindOf("search[3 ounce bottle of bright citrus deodorant]")).toBe("search")
    expect(kindOf("Finish[yes]")).toBe("finish")
    expect(kindOf("  look  ")).toBe("look")
    expect(kindOf("")).toBe("(empty)")
    expect(kindOf("   ")).toBe("(empty)")
  })
  it("keeps any word's kind whatever follows it (property)", () => {
    const word = fc.stringMatching(/^[a-z][a-z_-]{0,11}$/)
    const rest = fc.string({ maxLength: 30 })
    fc.assert(fc.property(word, rest, fc.constantFrom(" ", "["), (w, r, sep) => kindOf(`${w}${sep}${r}`) === w))
  })
})
