import { fc, test } from "@fast-check/vitest"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import * as AgentGymRequest from "../../src/env/AgentGymRequest.ts"

const ctx = { worldSeed: 0 }
const ok = <A>(r: Result.Result<A, string>): A => {
  if (Result.isFailure(r)) throw new Error(r.failure)
  return r.success
}
const refusal = <A>(r: Result.Result<A, string>): string => {
  if (Result.isSuccess(r)) throw new Error(`accepted: ${JSON.stringify(r.success)}`)
  return r.failure
}
const reset = (body: unknown) => AgentGymRequest.reset(JSON.stringify(body), ctx)

describe("AgentGym request bodies", () => {
  it("reads the reset each AgentGym client sends", () => {
    expect(ok(reset({ id: 3, game: 7, world_type: "Text" }))).toEqual({ session: 3, key: "id", task: 7, taskField: "game" }) // ALFWorld
    expect(ok(reset({ env_idx: 3, session_id: 7 }))).toEqual({ session: 3, key: "env_idx", task: 7, taskField: "session_id" }) // WebShop
    expect(ok(reset({ id: 3, data_idx: 7 }))).toEqual({ session: 3, key: "id", task: 7, taskField: "data_idx" }) // BabyAI, SciWorld, TextCraft
    expect(ok(reset({ env_idx: 3, item_id: 7 }))).toEqual({ session: 3, key: "env_idx", task: 7, taskField: "item_id" }) // SQLGym
    expect(ok(reset({ env_idx: 3, id: 7 }))).toEqual({ session: 3, key: "env_idx", task: 7, taskField: "id" }) // SearchQA, tools
    expect(ok(reset({ env_idx: 3, seed: 0, idx: 7 }))).toEqual({ session: 3, key: "env_idx", task: 7, taskField: "idx" }) // WebArena
  })

  it("refuses a reset without a task, with two, or with fields it does not know", () => {
    expect(refusal(reset({ id: 3 }))).toMatch(/^no task named: \/reset needs one of data_idx \(BabyAI/)
    expect(refusal(reset({ env_idx: 3 }))).toMatch(/id \(SearchQA and the tool environments, with env_idx\)$/)
    expect(refusal(reset({ id: 3, game: 1, data_idx: 1 }))).toBe("the task is named twice (data_idx and game): send one")
    expect(refusal(reset({ id: 3, game: 1, level: 2 }))).toMatch(/^unknown field "level" \(\/reset accepts id, env_idx, /)
    expect(refusal(reset({ game: 1 }))).toMatch(/^no session named/)
    expect(refusal(reset({ id: 3, game: "1" }))).toBe("game must be a non-negative integer, got the string \"1\"")
    expect(refusal(reset({ id: 3, game: 1.5 }))).toBe("game must be a non-negative integer, got 1.5")
    expect(refusal(reset({ id: 3, game: 1, world_type: "Hybrid" }))).toMatch(/world_type the string "Hybrid" is not available/)
    expect(refusal(AgentGymRequest.reset(JSON.stringify({ env_idx: 1, idx: 2, seed: 0 }), { worldSeed: 4 }))).toMatch(/seed 0 does not match this server's world seed 4/)
  })

  it("refuses a step or close naming two sessions or none, and a non-string action", () => {
    expect(ok(AgentGymRequest.step(JSON.stringify({ env_idx: 2, action: "look" })))).toEqual({ session: 2, key: "env_idx", action: "look" })
    expect(refusal(AgentGymRequest.step(JSON.stringify({ env_idx: 2, id: 2, action: "look" })))).toMatch(/named twice/)
    expect(refusal(AgentGymRequest.step(JSON.stringify({ id: 2, action: ["look"] })))).toBe("action must be a string, got an array")
    expect(refusal(AgentGymRequest.step(JSON.stringify({ id: 2 })))).toBe("action must be a string, got nothing")
    expect(refusal(AgentGymRequest.close(""))).toMatch(/^no session named/)
  })

  it("/create accepts the bodies AgentGym's clients send, and refuses custom TextCraft recipes", () => {
    for (const body of ["", "{}", JSON.stringify({ id: 0 }), JSON.stringify({ minecraft_dir: "agentenv_textcraft/", commands: null, goal: null })]) {
      expect(Result.isSuccess(AgentGymRequest.create(body))).toBe(true)
    }
    expect(refusal(AgentGymRequest.create(JSON.stringify({ goal: "craft 1 stick" })))).toMatch(/goal must be null/)
  })

  it("GET /observation takes one id or env_idx", () => {
    expect(ok(AgentGymRequest.observation(new URLSearchParams("env_idx=4")))).toEqual({ session: 4, key: "env_idx" })
    expect(refusal(AgentGymRequest.observation(new URLSearchParams("id=1&env_idx=1")))).toMatch(/more than once/)
    expect(refusal(AgentGymRequest.observation(new URLSearchParams("id=99999999999999999999")))).toMatch(/non-negative integer/)
  })

  test.prop([fc.constantFrom("reset", "step", "close", "create"), fc.oneof(fc.json(), fc.string(), fc.jsonValue().map((v) => JSON.stringify({ id: 1, game: v })))], { numRuns: 2000, seed: 7 })(
    "any body: parsed or refused with one line, never a throw",
    (endpoint, text) => {
      const r: Result.Result<unknown, string> = endpoint === "reset"
        ? AgentGymRequest.reset(text, ctx)
        : endpoint === "step"
          ? AgentGymRequest.step(text)
          : endpoint === "close"
            ? AgentGymRequest.close(text)
            : AgentGymRequest.create(text)
      if (Result.isFailure(r)) {
        expect(r.failure.length).toBeGreaterThan(0)
        expect(r.failure.length).toBeLessThan(400)
        expect(r.failure).not.toContain("\n")
      }
    }
  )

  test.prop([fc.dictionary(fc.constantFrom(...Object.keys(AgentGymRequest.taskFields), "id", "env_idx"), fc.nat(1000), { minKeys: 1 })], { numRuns: 1000, seed: 8 })(
    "a reset that is accepted names exactly one task, and that is the field's value",
    (body) => {
      const r = reset(body)
      if (Result.isSuccess(r)) {
        const named = Object.keys(body).filter((k) => k in AgentGymRequest.taskFields && (k !== "id" || "env_idx" in body))
        expect(named).toEqual([r.success.taskField])
        expect(body[r.success.taskField]).toBe(r.success.task)
      }
    }
  )
})
