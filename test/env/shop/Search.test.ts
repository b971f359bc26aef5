import { describe, expect, it } from "vitest"
import * as Catalogue from "../../../src/env/shop/Catalogue.ts"
import * as Search from "../../../src/env/shop/Search.ts"

const catalogue = Catalogue.generate(0)
const search = Search.make(() => catalogue)

describe("shop search", () => {
  it("ranks the products of the named type first, at most 50", () => {
    const r = search.run("body lotion")
    expect(r.ids.length).toBe(Search.topN)
    for (const id of r.ids.slice(0, 20)) expect(catalogue.products[id]!.query).toBe("body lotion")
  })
  it("ranks products with the asked attributes above those without", () => {
    const r = search.run("paraben free body lotion")
    const top = catalogue.products[r.ids[0]!]!
    expect(top.query).toBe("body lotion")
    expect(top.attributes).toContain("paraben free")
  })
  it("caches by the normalised query", () => {
    expect(search.run("  Body   LOTION ")).toBe(search.run("body lotion"))
    expect(Search.normalise(" A  b\tC\n")).toBe("a b c")
  })
  it("cuts huge queries and finds nothing for unknown words", () => {
    expect(Search.normalise("w ".repeat(1000)).split(" ").length).toBe(32)
    expect(Search.normalise("x".repeat(1_000_000)).length).toBe(512)
    expect(search.run("zzqqxx").ids).toEqual([])
    expect(search.run("of the with").ids).toEqual([])
  })
})
