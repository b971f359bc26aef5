import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { EOA } from "../../src/data/Tokenizer.ts"
import * as ChatRequest from "../../src/serve/ChatRequest.ts"
import * as ChatResponse from "../../src/serve/ChatResponse.ts"
import * as Fixtures from "../model/Fixtures.ts"

const messages = [{ role: "system", content: "x" }, { role: "user", content: "y" }]
const decoded = (body: unknown) => ChatRequest.decode(JSON.stringify(body))
const refusal = (body: unknown) => {
  const r = decoded(body)
  if (Result.isSuccess(r)) throw new Error("expected a refusal")
  return [r.failure.param, r.failure.message] as const
}

describe("ChatRequest", () => {
  it("fills OpenAI's defaults, and takes either name of the token limit", () => {
    expect(decoded({ messages })).toEqual(Result.succeed({
      model: undefined, messages, temperature: 1, topP: 1, topK: 0, maxTokens: undefined, n: 1, seed: undefined, stop: [], logprobs: false
    }))
    const r = decoded({ messages, model: null, temperature: 0, top_p: 0.9, top_k: -1, max_completion_tokens: 7, n: 2, seed: -3, stop: "\n", logprobs: true, stream: false, tools: [], tool_choice: "none", presence_penalty: 0, response_format: { type: "text" } })
    expect(Result.getOrThrow(r)).toMatchObject({ temperature: 0, topP: 0.9, topK: 0, maxTokens: 7, n: 2, seed: -3, stop: ["\n"], logprobs: true })
    expect(Result.getOrThrow(decoded({ messages, max_tokens: 5, max_completion_tokens: 5 })).maxTokens).toBe(5)
  })
  it("refuses what it cannot honour, naming the field", () => {
    expect(refusal({ messages, max_tokens: 5, max_completion_tokens: 6 })).toEqual(["max_completion_tokens", "max_completion_tokens: disagrees with max_tokens (6 vs 5): give one"])
    expect(refusal({ messages, max_tokens: 0 })[0]).toBe("max_tokens")
    expect(refusal({ messages, top_p: 0 })[0]).toBe("top_p")
    expect(refusal({ messages, stop: [""] })).toEqual(["stop", "stop: a stop sequence is empty"])
    expect(refusal({ messages, response_format: { type: "json_object" } })[0]).toBe("response_format")
    expect(refusal({ messages, logit_bias: { "5": 1 } })[0]).toBe("logit_bias")
    expect(refusal({ messages, tool_choice: "auto" })[0]).toBe("tool_choice")
    expect(refusal({ messages, functions: [{ name: "f" }] })[0]).toBe("functions")
    expect(refusal({ messages, seed: 1.5 })).toEqual(["seed", "seed: expected an integer"])
    expect(refusal({ messages: "hi" })).toEqual(["messages", "messages: expected array"])
  })
})

describe("ChatResponse.finish", () => {
  const tok = Fixtures.byteTokenizer()
  const ids = (text: string) => Array.from(tok.encode(text))
  const sampled = (text: string, stopped: boolean) => {
    const t = Int32Array.from([...ids(text), ...(stopped ? [EOA] : [])])
    return { tokens: t, logp: Float32Array.from(t, (_, i) => -i), stopped }
  }
  it("cuts at the first stop sequence found, even one spread over several tokens", () => {
    const f = ChatResponse.finish(tok, sampled("search[a]\nAction: b", true), ["Action:", "]\n"])
    expect(f).toEqual({ tokens: Int32Array.from(ids("search[a]\n")), logp: Float32Array.from(ids("search[a]\n"), (_, i) => -i), text: "search[a", finish: "stop" })
  })
  it("without a match: the decoded ids; stop when the policy ended its action, else length", () => {
    expect(ChatResponse.finish(tok, sampled("abc", true), ["x"])).toMatchObject({ text: "abc", finish: "stop" })
    expect(ChatResponse.finish(tok, sampled("abc", false), [])).toMatchObject({ text: "abc", finish: "length" })
  })
})
