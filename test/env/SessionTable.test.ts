import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import * as SessionTable from "../../src/env/SessionTable.ts"

describe("SessionTable", () => {
  it("a full table refuses; closing or expiry frees a slot; ids are never reused", () => {
    const t = SessionTable.make<string>({ maxSessions: 2, idleMillis: 1000 })
    expect([t.create(0, "a"), t.create(0, "b"), t.create(0, "c")]).toEqual([0, 1, undefined])
    expect(t.close(10, 0)).toBe(true)
    expect(t.create(10, "c")).toBe(2)
    expect(t.get(900, 1)).toBe("b") // touched at 900: lives until 1900
    expect(t.get(1500, 2)).toBe("gone") // idle since 10
    expect(t.get(1500, 7)).toBe("unknown")
    expect(t.create(1500, "d")).toBe(3)
    expect(t.size(1899)).toBe(2)
    expect(t.size(1900)).toBe(1)
  })

  it("ids count up from firstId; ids below it were never handed out", () => {
    const t = SessionTable.make<string>({ maxSessions: 4, idleMillis: 1000, firstId: 500 })
    expect([t.create(0, "a"), t.create(0, "b")]).toEqual([500, 501])
    expect(t.close(1, 500)).toBe(true)
    expect([t.get(2, 500), t.get(2, 499), t.get(2, 0), t.get(2, 502), t.get(2, 501)]).toEqual(["gone", "unknown", "unknown", "unknown", "b"])
  })

  test.prop([fc.array(fc.tuple(fc.constantFrom("create", "get", "close"), fc.nat(20), fc.nat(500)), { maxLength: 200 })], { numRuns: 300, seed: 3 })(
    "matches a naive model: a session is open iff created, not closed, and used within the idle time",
    (ops) => {
      const idle = 1000
      const t = SessionTable.make<number>({ maxSessions: 5, idleMillis: idle })
      const model = new Map<number, number>() // id -> last use
      let now = 0
      let next = 0
      const sweep = () => {
        for (const [id, last] of model) if (now - last >= idle) model.delete(id)
      }
      for (const [op, id, dt] of ops) {
        now += dt
        sweep()
        if (op === "create") {
          const got = t.create(now, next)
          if (model.size >= 5) expect(got).toBeUndefined()
          else {
            expect(got).toBe(next)
            model.set(next++, now)
          }
        } else if (op === "get") {
          const got = t.get(now, id)
          if (model.has(id)) {
            expect(got).toBe(id)
            model.set(id, now)
          } else expect(got).toBe(id < next ? "gone" : "unknown")
        } else {
          expect(t.close(now, id)).toBe(model.delete(id))
        }
        expect(t.size(now)).toBe(model.size)
      }
    }
  )
})
