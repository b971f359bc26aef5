import { expect, layer } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as Bpe from "../../src/data/Bpe.ts"
import * as ChatFormat from "../../src/data/ChatFormat.ts"
import * as Render from "../../src/data/Render.ts"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as Expert from "../../src/env/Expert.ts"
import * as Registry from "../../src/env/Registry.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as Context from "../../src/model/Context.ts"
import * as Preset from "../../src/model/Preset.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Environment from "../../src/pipeline/Environment.ts"
import * as ChatPrompt from "../../src/serve/ChatPrompt.ts"
import * as Rollout from "../../src/stages/Rollout.ts"

const sim = Registry.make("qa", 0)
const experts = Array.from({ length: 6 }, (_, i) => Expert.trajectory(sim, `test:${i}`, { thoughts: i % 2 === 0, seed: 0 }))
const tokenizer = Effect.runSync(Bpe.train(experts.flatMap(Render.texts), { vocabSize: 400 }))

const concat = (parts: ReadonlyArray<Int32Array>): Array<number> => parts.flatMap((p) => Array.from(p))

/** The prompt of raw messages, or the refusal's message and param. */
const prompt = (raw: ReadonlyArray<unknown>, contextLength = 128, instruction: "keep" | "drop" = "keep") =>
  Result.flatMap(ChatPrompt.parseMessages(raw, tokenizer), (m) => ChatPrompt.build(tokenizer, contextLength, instruction, m))

const refusal = (raw: ReadonlyArray<unknown>) => {
  const r = prompt(raw)
  if (Result.isSuccess(r)) throw new Error("expected a refusal")
  return { message: r.failure.message, param: r.failure.param }
}

// The test backend (wasm, one thread) for the rollout test's policy; the other tests are pure and synchronous.
layer(Backend.layerTest)("ChatPrompt", (it) => {
  it("a conversation cut after the observation of step i is training's state s_i: same template, same truncation (keep and drop, short and long contexts)", () => {
    for (const t of experts) {
      for (const instruction of ["keep", "drop"] as const) {
        const trained = Render.render(tokenizer, instruction === "drop" ? { ...t, instruction: "" } : t)
        const messages = ChatFormat.encode(t).messages // system, then user/assistant per step
        for (const ctx of [64, 128, 512]) {
          for (let i = 0; i < t.steps.length; i++) {
            const p = prompt(messages.slice(0, 2 + 2 * i), ctx, instruction)
            if (Result.isFailure(p)) throw new Error(p.failure.message)
            const state = Context.state(trained, i, ctx)
            expect(ChatPrompt.tokens(p.success)).toEqual(Int32Array.from(concat(state.parts)))
            expect(p.success.state.truncatedTurns).toBe(state.truncatedTurns)
            expect(p.success.state.truncatedTokens).toBe(state.truncatedTokens)
          }
        }
      }
    }
    // the long contexts were cut somewhere (the check covered truncation, not only whole states)
    const longest = experts.reduce((a, b) => (a.steps.length > b.steps.length ? a : b))
    expect(Context.state(Render.render(tokenizer, longest), longest.steps.length - 1, 64).truncatedTokens).toBeGreaterThan(0)
  })

  it("ETO's shape (no system message: prompt, acknowledgement, then steps) reads as the chat importer reads it", () => {
    const t = experts[1]!
    const trained = Render.render(tokenizer, t)
    const eto = [{ role: "user", content: t.instruction }, { role: "assistant", content: "OK" }, ...ChatFormat.encode(t).messages.slice(1)]
    for (let i = 0; i < t.steps.length; i++) {
      const p = prompt(eto.slice(0, 3 + 2 * i))
      expect(Result.isSuccess(p) && Array.from(ChatPrompt.tokens(p.success))).toEqual(concat(Context.state(trained, i, 128).parts))
    }
  })

  it.effect("with the ids the policy sampled on its turns, every state is the rollout's own state (evaluation), where the text alone is not", () =>
    Effect.gen(function*() {
      // an untrained policy at temperature 1 writes byte-level ids that its decoded text does not encode back to
      const model = Transformer.init(Preset.config("tiny", { vocabSize: tokenizer.vocabSize }), 5)
      const env = Environment.envLayer({ env: { name: "qa", seed: 0 }, render: { instruction: "drop" } }, sim)
      const episodes = yield* Rollout.run({ kind: "model", model, tokenizer, maxTokens: 12, temperature: 1 }, ["test:0", "test:1", "test:2"], Rng.make(3), 4).pipe(Effect.provide(env))
      let compared = 0
      let textDiffers = 0
      for (const e of episodes) {
        const t = e.tokenized!
        const ids = (k: number) => t.tokens.subarray(Tokenized.actStart(t, k), Tokenized.actEnd(t, k))
        // the rollout's buffer is Render.render of its transcript with the sampled ids (the final observation aside)
        const { finalObservation: _, ...transcript } = e.trajectory
        const rendered = Render.render(tokenizer, { ...transcript, instruction: "" }, e.trajectory.steps.map((_, k) => ids(k)))
        expect(rendered.tokens).toEqual(t.tokens)
        expect(rendered.spans).toEqual(t.spans)
        const messages = (withIds: boolean) => [
          { role: "system", content: sim.instruction },
          ...e.trajectory.steps.flatMap((s, k) => [
            { role: "user", content: s.observation },
            { role: "assistant", content: tokenizer.decode(ids(k)), ...(withIds ? { token_ids: Array.from(ids(k)) } : {}) }
          ])
        ]
        for (let i = 0; i < Tokenized.stepCount(t); i++) {
          const sampledAt = concat(Context.state(t, i, model.config.contextLength).parts) // what the rollout sampled step i from
          const exact = prompt(messages(true).slice(0, 2 + 2 * i), model.config.contextLength, "drop")
          expect(Result.isSuccess(exact) && Array.from(ChatPrompt.tokens(exact.success))).toEqual(sampledAt)
          const fromText = prompt(messages(false).slice(0, 2 + 2 * i), model.config.contextLength, "drop")
          if (Result.isFailure(fromText) || JSON.stringify(Array.from(ChatPrompt.tokens(fromText.success))) !== JSON.stringify(sampledAt)) textDiffers++
          compared++
        }
      }
      expect(compared).toBeGreaterThan(6)
      expect(textDiffers).toBeGreaterThan(0) // the hazard is real here: re-encoding the text would have changed the states
      Transformer.dispose(model)
    }), 60_000)

  it("refuses what it cannot render, naming the message", () => {
    const sys = { role: "system", content: "Answer the question." }
    const obs = { role: "user", content: "Question: who?" }
    expect(refusal([])).toEqual({ message: "messages is empty", param: "messages" })
    expect(refusal([sys, obs, { role: "assistant", content: "search[x]" }]).message).toMatch(/last message must be a user message .* got assistant/)
    expect(refusal([sys, { role: "tool", content: "x" }])).toEqual({ message: expect.stringMatching(/message 1: role "tool" is not supported/), param: "messages[1]" })
    expect(refusal([sys, obs, { role: "assistant", content: null, tool_calls: [{ id: "1" }] }, obs]).message).toMatch(/message 2: a tool call \(tool_calls\)/)
    expect(refusal([sys, { role: "user", content: [{ type: "text", text: "x" }] }]).message).toMatch(/message 1: content must be a string, got array/)
    expect(refusal([sys, obs, sys, obs]).message).toMatch(/message 2: a second system message/)
    expect(refusal([sys, obs, obs]).message).toMatch(/message 2: expected role assistant, got user/)
    expect(refusal([obs]).message).toMatch(/without a system message needs at least 3 messages/)
    expect(refusal([sys, obs, { role: "assistant", content: "x", token_ids: [1, 2, 9999] }, obs])).toEqual({
      message: "message 2: token_ids[2] must be an integer id below the vocabulary size 400",
      param: "messages[2].token_ids"
    })
    expect(refusal([sys, { role: "user", content: "q", token_ids: [7] }]).param).toBe("messages[1].token_ids")
    const ids = Array.from(tokenizer.encode("search[Orchard]"))
    expect(refusal([sys, obs, { role: "assistant", content: "finish[1]", token_ids: ids }, obs]).message).toMatch(/message 2: token_ids decode to "search\[Orchard\]", which does not begin with the message's content "finish\[1\]"/)
    // ids of a turn whose text is empty, or cut before a stop sequence, are fine
    expect(Result.isSuccess(prompt([sys, obs, { role: "assistant", content: "", token_ids: [4] }, obs]))).toBe(true)
    expect(Result.isSuccess(prompt([sys, obs, { role: "assistant", content: "search[Orch", token_ids: ids }, obs]))).toBe(true)
  })
})
