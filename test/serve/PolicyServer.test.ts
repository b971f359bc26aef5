import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { NodeServices } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Schema, Scope, Stream } from "effect"
import { HttpServer } from "effect/http"
import { TestClock } from "effect/testing"
import { parseAssistantTurn } from "../../src/domain/Step.ts"
import * as PolicyCheckpoint from "../../src/cli/PolicyCheckpoint.ts"
import type { Simulator } from "../../src/env/Simulator.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as Context_ from "../../src/model/Context.ts"
import * as Score from "../../src/model/Score.ts"
import * as Metrics from "../../src/metrics/Metrics.ts"
import * as Environment from "../../src/pipeline/Environment.ts"
import * as ApiError from "../../src/serve/ApiError.ts"
import * as ChatResponse from "../../src/serve/ChatResponse.ts"
import * as PolicyServer from "../../src/serve/PolicyServer.ts"
import * as Evaluate from "../../src/stages/Evaluate.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Fixtures from "./Fixtures.ts"

const root = NodePath.resolve(import.meta.dirname, "../..")
const now = 1_800_000_000_000 // the server's TestClock time: `created` comes from the Clock, never the wall

/**
 * What the tests share: a trained qa checkpoint in a temporary directory (Fixtures.qaCheckpoint), the policy loaded
 * from it and a server on that policy, in-process on a free port. The server runs on its own TestClock set to `now`;
 * the layer's scope closes it when the block ends, then removes the directory.
 */
class Serving extends Context.Service<Serving, {
  readonly checkpoint: string
  readonly sim: Simulator
  readonly served: PolicyCheckpoint.Policy
  readonly url: string
}>()("test/serve/PolicyServer/Serving") {}

const layerServing = Layer.effect(
  Serving,
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "serve-"))),
      (d) => Effect.sync(() => NodeFs.rmSync(d, { recursive: true, force: true }))
    )
    const checkpoint = NodePath.join(dir, "unit-0001")
    const { sim } = yield* Fixtures.qaCheckpoint(checkpoint)
    const served = yield* PolicyCheckpoint.load(checkpoint)
    const server = PolicyServer.layer({ name: "qa-tiny", model: served.model, tokenizer: served.tokenizer, instruction: served.instruction }, { port: 0, host: "127.0.0.1" })
    const scope = yield* Scope.Scope
    const ctx = yield* Effect.gen(function*() {
      yield* TestClock.setTime(now)
      return yield* Layer.buildWithScope(server, scope)
    }).pipe(Effect.provide(TestClock.layer()))
    const address = Context.get(ctx, HttpServer.HttpServer).address
    return { checkpoint, sim, served, url: `http://127.0.0.1:${"port" in address ? address.port : 0}` }
  })
).pipe(Layer.provide(NodeServices.layer), Layer.provideMerge(Backend.layerTest))

/** POSTs a body (JSON, or the string as given) to the server: the status and the JSON answer. */
const post = (body: unknown, path = "/v1/chat/completions") =>
  Effect.gen(function*() {
    const { url } = yield* Serving
    return yield* Effect.promise(async () => {
      const r = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) })
      return { status: r.status, json: (await r.json()) as unknown }
    })
  })
const completion = (json: unknown) => Schema.decodeUnknownSync(ChatResponse.ChatCompletion)(json)
const error = (json: unknown) => Schema.decodeUnknownSync(ApiError.ErrorBody)(json).error

interface Played {
  readonly actions: ReadonlyArray<string>
  readonly reward: number
  readonly termination: string
  readonly prompts: ReadonlyArray<ReadonlyArray<number>> // prompt_token_ids per turn
}

/**
 * A harness with nothing but `fetch` and the environment: the growing conversation goes to the server each turn
 * (system = the task's instruction, user = observations, assistant = the policy's turns with the ids it returned),
 * the action part of the answer goes to the environment, as evaluation does (`parseAssistantTurn`).
 */
const play = (taskId: string, withIds = true): Effect.Effect<Played, never, Serving> =>
  Effect.gen(function*() {
    const run = (yield* Serving).sim.start(taskId)
    const messages: Array<Record<string, unknown>> = [{ role: "system", content: run.episode.instruction }, { role: "user", content: run.episode.observation }]
    const actions: Array<string> = []
    const prompts: Array<ReadonlyArray<number>> = []
    for (let step = 0; step < run.episode.maxSteps; step++) {
      const r = yield* post({ model: "qa-tiny", messages, temperature: 0 })
      expect(r.status).toBe(200)
      const c = completion(r.json)
      prompts.push(c.prompt_token_ids)
      const { content } = c.choices[0]!.message
      const action = parseAssistantTurn(content).action
      actions.push(action)
      const result = run.step(action)
      if (result.done) return { actions, reward: result.reward, termination: "done", prompts }
      messages.push({ role: "assistant", content, ...(withIds ? { token_ids: c.choices[0]!.token_ids } : {}) }, { role: "user", content: result.observation })
    }
    return { actions, reward: 0, termination: "max_steps", prompts }
  })

/** `stepagent eval`'s code path in-process (EvalCommand: the checkpoint's policy, its rendering, Evaluate.evaluate, run seed 0). */
const evaluate = (tasks: ReadonlyArray<string>, parallel: number) =>
  Effect.gen(function*() {
    const { checkpoint, sim } = yield* Serving
    const policy = yield* PolicyCheckpoint.load(checkpoint)
    const models = Models.layer({ tokenizer: policy.tokenizer, models: { policy: { model: policy.model } } })
    const env = Environment.envLayer({ env: { name: "qa", seed: 0 }, render: { instruction: policy.instruction } }, sim)
    return yield* Stream.fromIterable(tasks).pipe(
      Evaluate.evaluate({ ...Evaluate.defaults, parallel }, { seed: 0, iteration: 0 }),
      Stream.runCollect,
      Effect.provide(Layer.mergeAll(env, models, Metrics.layerNone))
    )
  }).pipe(Effect.provide(NodeServices.layer))

// On the live clock (the test services left out): real HTTP to a real server, and `stepagent eval` as a subprocess.
// Only the server's own TestClock (layerServing) stands still, at `now`.
layer(layerServing, { excludeTestServices: true, timeout: "120 seconds" })("stepagent serve", (it) => {
  const tasks = ["test:0", "test:1", "test:2", "test:3"]

  it.effect("a plain HTTP client plays whole episodes through it: the actions, states and rewards of stepagent eval", () =>
    Effect.gen(function*() {
      const { served } = yield* Serving
      const evaluated = yield* evaluate(tasks, 1)
      let turns = 0
      let truncated = 0
      for (const [i, task] of tasks.entries()) {
        const e = evaluated[i]!
        const p = yield* play(task)
        expect(p.actions).toEqual(e.trajectory.steps.map((s) => s.action))
        expect(p.reward).toBe(e.reward)
        expect(p.termination).toBe(e.termination)
        // every state the server sampled from is the one evaluation sampled from, token for token
        const t = e.tokenized!
        p.prompts.forEach((ids, step) => {
          const state = Context_.state(t, step, served.model.config.contextLength)
          expect(ids).toEqual(state.parts.flatMap((x) => Array.from(x)))
          if (state.truncatedTokens > 0) truncated++
        })
        turns += p.prompts.length
      }
      expect(turns).toBeGreaterThan(8) // several turns an episode
      expect(truncated).toBeGreaterThan(0) // and conversations longer than the context, cut as training cuts them
      // `stepagent eval` runs its episodes 16 at a time, their sampling batched: the same actions here
      const batched = yield* evaluate(tasks, Evaluate.defaults.parallel)
      expect(batched.map((e) => [e.trajectory.steps.map((s) => s.action), e.reward])).toEqual(evaluated.map((e) => [e.trajectory.steps.map((s) => s.action), e.reward]))
    }), 120_000)

  it.effect("the `stepagent eval` command gives the reward the server's episode got (task test:0, seed 0)", () =>
    Effect.gen(function*() {
      const { checkpoint } = yield* Serving
      const played = yield* play("test:0")
      const node = NodePath.join(root, "node_modules/.bin/node")
      const env = { ...process.env, STEPAGENT_BACKEND: "wasm", STEPAGENT_THREADS: "1", STEPAGENT_MATMUL: "xnnpack" }
      const r = NodeChild.spawnSync(node, [NodePath.join(root, "bin/stepagent.ts"), "eval", "--checkpoint", checkpoint, "--env", "qa", "--n", "1", "--json"], { cwd: root, encoding: "utf8", env })
      expect(r.status, r.stderr).toBe(0)
      const s = JSON.parse(r.stdout) as { avgReward: number; avgSteps: number }
      expect(s.avgReward).toBe(played.reward)
      expect(s.avgSteps).toBe(played.actions.length)
    }), 120_000)

  it.effect("answers in OpenAI's shape: ids, usage, log-probs of the policy, the Clock's time; seeded sampling repeats", () =>
    Effect.gen(function*() {
      const { sim, served, url } = yield* Serving
      const run = sim.start("test:5")
      const messages = [{ role: "system", content: run.episode.instruction }, { role: "user", content: run.episode.observation }]
      const r = yield* post({ messages, logprobs: true, n: 3, seed: 11, temperature: 1, max_tokens: 12, user: "harness", metadata: { run: "a" }, return_token_ids: true })
      expect(r.status).toBe(200)
      const c = completion(r.json)
      expect(c.object).toBe("chat.completion")
      expect(c.model).toBe("qa-tiny")
      expect(c.created).toBe(now / 1000)
      expect(c.choices.map((x) => x.index)).toEqual([0, 1, 2])
      expect(c.usage.prompt_tokens).toBe(c.prompt_token_ids.length)
      expect(c.usage.completion_tokens).toBe(c.choices.reduce((n, x) => n + x.token_ids.length, 0))
      expect(c.usage.total_tokens).toBe(c.usage.prompt_tokens + c.usage.completion_tokens)
      for (const x of c.choices) {
        expect(x.token_ids.length).toBeLessThanOrEqual(12)
        expect(x.message.content).toBe(served.tokenizer.decode(x.token_ids))
        expect(x.finish_reason).toBe(x.token_ids[x.token_ids.length - 1] === 4 ? "stop" : "length")
        expect(x.logprobs!.content.map((l) => l.bytes === null ? l.token : new TextDecoder().decode(Uint8Array.from(l.bytes)))).toEqual(x.token_ids.map((id) => id < 6 ? ["<|pad|>", "<|bos|>", "<|obs|>", "<|act|>", "<|eoa|>", "<|gap|>"][id] : served.tokenizer.decode([id])))
        // the log-probs are the policy's at that state: scoring the ids there gives them back
        const state = { id: "s", env: "qa", taskId: "test:5", reward: 0, success: false, tokens: Int32Array.from([...c.prompt_token_ids, ...x.token_ids]), spans: Int32Array.of(c.prompt_token_ids.length - 1, c.prompt_token_ids.length, c.prompt_token_ids.length, c.prompt_token_ids.length + x.token_ids.length) }
        const scored = Score.segments(served.model, [{ trajectory: state, step: 0 }])
        x.logprobs!.content.forEach((l, k) => expect(Math.abs(l.logprob - scored.logp[k]!)).toBeLessThan(1e-4))
      }
      const again = completion((yield* post({ messages, logprobs: true, n: 3, seed: 11, temperature: 1, max_tokens: 12 })).json)
      expect(again.choices.map((x) => x.token_ids)).toEqual(c.choices.map((x) => x.token_ids))
      const other = completion((yield* post({ messages, n: 3, seed: 12, temperature: 1, max_tokens: 12 })).json)
      expect(other.choices.map((x) => x.token_ids)).not.toEqual(c.choices.map((x) => x.token_ids))
      expect(other.choices[0]!.logprobs).toBeNull()
      const models = yield* Effect.promise(async () => (await fetch(`${url}/v1/models`)).json())
      expect(Schema.decodeUnknownSync(ChatResponse.ModelList)(models).data.map((m) => [m.id, m.max_model_len])).toEqual([["qa-tiny", 128]])
    }), 60_000)

  it.effect("concurrent requests each get what they get alone (greedy, and seeded sampling)", () =>
    Effect.gen(function*() {
      const { sim } = yield* Serving
      const bodies = Array.from({ length: 12 }, (_, i) => {
        const run = sim.start(`test:${10 + i}`)
        const messages = [{ role: "system", content: run.episode.instruction }, { role: "user", content: run.episode.observation }]
        return i % 2 === 0 ? { messages, temperature: 0 } : { messages, temperature: 1, seed: i }
      })
      const alone: Array<unknown> = []
      for (const b of bodies) alone.push(completion((yield* post(b)).json).choices.map((x) => x.token_ids))
      const concurrently = Effect.forEach(bodies, (b) => Effect.map(post(b), (r) => completion(r.json).choices.map((x) => x.token_ids)), { concurrency: "unbounded" })
      expect(yield* concurrently).toEqual(alone)
      expect(yield* concurrently).toEqual(alone) // again, on the connections the first round opened: these arrive together
      // (whether they were batched depends on timing; Completions.test.ts checks that waiting requests are)
    }), 60_000)

  it.effect("cuts at a stop sequence: the content ends before it, the ids with the token that completed it", () =>
    Effect.gen(function*() {
      const { sim, served } = yield* Serving
      const messages = [{ role: "system", content: "x" }, { role: "user", content: sim.start("test:0").episode.observation }]
      const whole = completion((yield* post({ messages, temperature: 0 })).json).choices[0]!
      expect(whole.message.content).toContain("[")
      const cut = completion((yield* post({ messages, temperature: 0, stop: ["["], logprobs: true })).json).choices[0]!
      expect(cut.finish_reason).toBe("stop")
      expect(cut.message.content).toBe(whole.message.content.slice(0, whole.message.content.indexOf("[")))
      expect(whole.token_ids.slice(0, cut.token_ids.length)).toEqual(cut.token_ids)
      expect(served.tokenizer.decode(cut.token_ids)).toContain("[")
      expect(served.tokenizer.decode(cut.token_ids.slice(0, -1))).not.toContain("[")
      expect(cut.logprobs!.content).toHaveLength(cut.token_ids.length)
    }), 60_000)

  it.effect("refuses bad requests with OpenAI's error body and a one-line reason, and keeps serving", () =>
    Effect.gen(function*() {
      const sys = { role: "system", content: "x" }
      const obs = { role: "user", content: "Question: who?" }
      const cases: ReadonlyArray<readonly [unknown, number, RegExp, string | null]> = [
        ["{\"messages\": [", 400, /not valid JSON/, null],
        ["[1, 2]", 400, /must be a JSON object/, null],
        [{ model: "qa-tiny" }, 400, /missing field messages/, "messages"],
        [{ messages: [] }, 400, /messages is empty/, "messages"],
        [{ messages: [sys, { role: "tool", content: "x" }] }, 400, /role "tool" is not supported/, "messages[1]"],
        [{ messages: [sys, { role: "critic", content: "x" }] }, 400, /role "critic" is not supported/, "messages[1]"],
        [{ messages: [sys, obs, { role: "assistant", content: null, tool_calls: [{ id: "c" }] }, obs] }, 400, /tool call/, "messages[2]"],
        [{ messages: [sys, obs], tools: [{ type: "function" }] }, 400, /tool calling is not supported/, "tools"],
        [{ messages: [sys, obs, { role: "assistant", content: "search[a]" }] }, 400, /last message must be a user message/, "messages"],
        [{ messages: [sys, obs], stream: true }, 400, /streaming is not supported/, "stream"],
        [{ messages: [sys, obs], temperature: -1 }, 400, /temperature: expected a value between 0 and 2/, "temperature"],
        [{ messages: [sys, obs], n: 100 }, 400, /^n: /, "n"],
        [{ messages: [sys, obs], stop: ["a", "b", "c", "d", "e"] }, 400, /^stop: /, "stop"],
        [{ messages: [sys, obs], presence_penalty: 0.5 }, 400, /penalties are not supported/, "presence_penalty"],
        [{ messages: [sys, obs], logprobs: true, top_logprobs: 5 }, 400, /top log-probs are not supported/, "top_logprobs"],
        [{ messages: [sys, obs], model: "gpt-4o" }, 404, /"gpt-4o" does not exist/, "model"]
      ]
      for (const [body, status, message, param] of cases) {
        const r = yield* post(body)
        expect(r.status, JSON.stringify(body)).toBe(status)
        const e = error(r.json)
        expect(e.message).toMatch(message)
        expect(e.message).not.toContain("\n")
        expect(e.param).toBe(param)
        expect(e.type).toBe("invalid_request_error")
      }
      expect(error((yield* post({ messages: [sys, obs] }, "/v1/completions")).json).message).toMatch(/no route POST \/v1\/completions/)
      const big = yield* post({ messages: [sys, { role: "user", content: "x".repeat(PolicyServer.defaults.maxBodyBytes) }] })
      expect(big.status).toBe(413)
      // still serving
      const ok = yield* post({ messages: [sys, obs], temperature: 0 })
      expect(ok.status).toBe(200)
      expect(completion(ok.json).choices).toHaveLength(1)
    }), 60_000)
})
