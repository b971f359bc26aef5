// which expert actions a house checkpoint gets wrong at its own training tasks' expert states (greedy)
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as tf from "@tensorflow/tfjs"
import * as PolicyCheckpoint from "../../../src/cli/PolicyCheckpoint.ts"
import * as Render from "../../../src/data/Render.ts"
import { EOA } from "../../../src/data/Tokenizer.ts"
import { parseAssistantTurn } from "../../../src/domain/Step.ts"
import * as Tokenized from "../../../src/domain/Tokenized.ts"
import * as Expert from "../../../src/env/Expert.ts"
import * as House from "../../../src/env/house/House.ts"
import * as Backend from "../../../src/model/backend/Backend.ts"
import * as Context from "../../../src/model/Context.ts"
import * as Rng from "../../../src/model/Rng.ts"
import * as ModelSample from "../../../src/model/Sample.ts"

const [checkpoint, first, count] = process.argv.slice(2)
const sim = House.make({ seed: 0 })
const program = Effect.gen(function*() {
  const loaded = yield* PolicyCheckpoint.load(checkpoint!)
  const tok = loaded.tokenizer
  const policy = loaded.model
  const w = (policy as unknown as { weights: { copy?: { match?: { arraySync(): unknown; assign(t: unknown): void }; gateBias?: { arraySync(): unknown } } } }).weights
  if (process.env.ZERO_MATCH === "1") (w.copy!.match as unknown as { assign(t: unknown): void }).assign(tf.zeros([5]))
  console.log("match bias", JSON.stringify(w?.copy?.match?.arraySync()), "gateBias", JSON.stringify(w?.copy?.gateBias?.arraySync()))
  const kinds = new Map<string, [number, number]>()
  const examples: Array<string> = []
  for (let i = Number(first); i < Number(first) + Number(count); i++) {
    const t0 = Expert.trajectory(sim, `train:${i}`, { thoughts: false, seed: 0 })
    const t = loaded.instruction === "drop" ? { ...t0, instruction: "" } : t0
    const rendered = Render.render(tok, t)
    const reqs = Array.from({ length: Tokenized.stepCount(rendered) }, (_, step) => ({ trajectory: rendered, step }))
    const s = ModelSample.states(policy, reqs, 1, Rng.make(0), { maxTokens: Context.actionReserve(policy.config.contextLength), temperature: 0, stop: EOA })
    reqs.forEach((r, k) => {
      const got = parseAssistantTurn(tok.decode(s.tokens.subarray(k * s.width, k * s.width + s.lengths[k]!))).action.trim()
      const want = t.steps[r.step]!.action.trim()
      const prevVerb = r.step === 0 ? "start" : t.steps[r.step - 1]!.action.split(" ")[0]
      const st = Context.state(rendered, r.step, policy.config.contextLength)
      const key = `${want.split(" ")[0]} after ${prevVerb} ${st.truncatedTurns > 0 ? "TRUNC" : "whole"}`
      const v = kinds.get(key) ?? [0, 0]
      v[0]++
      if (got === want) v[1]++
      kinds.set(key, v)
      if (got !== want && examples.length < 100000) examples.push(`train:${i} step ${r.step}: want "${want}" got "${got}" (prev "${r.step === 0 ? "" : t.steps[r.step - 1]!.action}")`)
    })
  }
  console.log([...kinds].sort((a, b) => b[1][0] - a[1][0]).map(([k, [n, m]]) => `${k}: ${m}/${n} (${(100 * m / n).toFixed(0)}%)`).join("\n"))
  console.log(examples.join("\n"))
})
Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(NodeFileSystem.layer, Backend.layer({ threads: 1 }))))).catch((e) => { console.error(e); process.exit(1) })
