import { Effect, Layer, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { EOA } from "../../src/data/Tokenizer.ts"
import * as Builtin from "../../src/env/Builtin.ts"
import * as Discriminator from "../../src/model/Discriminator.ts"
import * as ActionBatch from "../../src/model/ActionBatch.ts"
import * as Score from "../../src/model/Score.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import type * as Metrics from "../../src/metrics/Metrics.ts"
import * as Evaluate from "../../src/stages/Evaluate.ts"
import * as ImplicitReward from "../../src/stages/ImplicitReward.ts"
import * as InverseReward from "../../src/stages/InverseReward.ts"
import * as Models from "../../src/stages/Models.ts"
import * as Preference from "../../src/stages/Preference.ts"
import * as Sample from "../../src/stages/Sample.ts"
import * as Segment from "../../src/stages/Segment.ts"
import * as Sft from "../../src/stages/Sft.ts"
import * as StepAgent from "../../src/stages/StepAgent.ts"
import * as Fixtures from "./Fixtures.ts"
import * as Signals from "./Signals.ts"
import * as World from "./World.ts"

/**
 * Behaviour on the signals environment (test/stages/Signals.ts) with a tiny model, seeded. The shared
 * "novice" is the policy after 150 SFT steps: it has the action format and part of the signal -> key map.
 */
let world: World.World
let novice: Transformer.Model
let heldOut: ReadonlyArray<Segment.Segment>
const sftRecords: Array<Metrics.MetricRecord> = []

beforeAll(async () => {
  await World.backend()
  world = await Effect.runPromise(World.signals({ train: 200, heldOut: 30 }))
  heldOut = world.heldOut.flatMap(Segment.all)
  const data = Array.from({ length: 12 }, () => world.train).flat().slice(0, 150 * 16)
  novice = await Fixtures.run(
    Effect.gen(function*() {
      yield* Stream.runDrain(Stream.fromIterable(data).pipe(Sft.sft({ ...Sft.defaults, batchSize: 16, learningRate: 3e-3 }, { seed: 1, iteration: 0 })))
      return Models.copy(yield* (yield* Models.Models).get("policy"))
    }),
    Fixtures.layer(world.tokenizer, Transformer.init(world.config, 1), sftRecords, { reference: false })
  )
})
afterAll(() => Transformer.dispose(novice))

const envLayer = Builtin.layer(Signals.make())

describe("SFT", () => {
  it("logs loss/sft falling and token accuracy rising", () => {
    const first = sftRecords[0]!.values
    const last = sftRecords[sftRecords.length - 1]!.values
    expect(sftRecords.length).toBe(150)
    expect(last["loss/sft"]!).toBeLessThan(first["loss/sft"]! - 2)
    expect(last["sft/token_accuracy"]!).toBeGreaterThan(first["sft/token_accuracy"]!)
  })

  it("beats a random policy: held-out likelihood of the expert's actions, and reward on held-out tasks", async () => {
    const untrained = Transformer.init(world.config, 1)
    expect(Fixtures.expertLogLikelihood(novice, heldOut)).toBeGreaterThan(Fixtures.expertLogLikelihood(untrained, heldOut) + 5)
    Transformer.dispose(untrained)
    const evaluate = (policy: Evaluate.Policy) =>
      Fixtures.run(
        Stream.runCollect(Evaluate.tasks("test", 16).pipe(Evaluate.evaluate({ ...Evaluate.defaults, policy, maxTokens: 8 }, { seed: 1, iteration: 0 }))),
        Layer.merge(Fixtures.layer(world.tokenizer, Models.copy(novice)), envLayer)
      )
    const model = Evaluate.summary(await evaluate("model"))
    const random = Evaluate.summary(await evaluate("random"))
    expect(model.episodes).toBe(16)
    expect(model.avgReward).toBeGreaterThan(random.avgReward + 0.15)
  })
})

describe("inverse reward", () => {
  it("the discriminator's accuracy rises above chance on expert vs untrained-policy pairs, on held-out states too", async () => {
    const records: Array<Metrics.MetricRecord> = []
    const held = await Fixtures.run(
      Effect.gen(function*() {
        yield* Models.ensureDiscriminator(11, { dModel: 32, layers: 1 })
        yield* Stream.runDrain(Stream.fromIterable(world.train.slice(0, 48)).pipe(
          Segment.segment,
          Sample.sample({ ...Sample.defaults, maxTokens: 8 }, { seed: 1, iteration: 0 }),
          InverseReward.inverseReward({ ...InverseReward.defaults, batchSize: 32, minibatchSize: 32, steps: 3, learningRate: 1e-3 }, { seed: 1, iteration: 0 })
        ))
        // held-out pairs: the expert's action and the untrained policy's own, at held-out states
        const d = yield* (yield* Models.Models).get("discriminator")
        const agent = yield* Stream.runCollect(Stream.fromIterable(heldOut).pipe(Sample.sample({ ...Sample.defaults, maxTokens: 8 }, { seed: 2, iteration: 0 })))
        const seq = (s: Segment.Segment, action?: Int32Array) =>
          Score.segmentSequence(d.config.contextLength, action === undefined ? s : { ...s, action }).sequence
        const pAgent = Discriminator.probabilities(d, ActionBatch.build(agent.map((a) => seq(a.segment, a.tokens))))
        const pExpert = Discriminator.probabilities(d, ActionBatch.build(heldOut.map((s) => seq(s))))
        return ([...pAgent].filter((p) => p > 0.5).length + [...pExpert].filter((p) => p < 0.5).length) / (pAgent.length + pExpert.length)
      }),
      Fixtures.layer(world.tokenizer, Transformer.init(world.config, 4), records)
    )
    const disc = records.filter((r) => r.stage === "inverse_reward")
    expect(disc.length).toBeGreaterThan(3)
    expect(disc[disc.length - 1]!.values["disc/accuracy"]!).toBeGreaterThan(0.85) // chance: 0.5
    expect(disc[disc.length - 1]!.values["loss/disc"]!).toBeLessThan(disc[0]!.values["loss/disc"]!)
    expect(disc[disc.length - 1]!.values["disc/agent_prob"]!).toBeGreaterThan(disc[disc.length - 1]!.values["disc/expert_prob"]!)
    expect(held).toBeGreaterThan(0.8)
  })
})

describe("implicit reward", () => {
  it("after DPO training, ranks the expert's action above a random valid action at held-out states", async () => {
    const keys = Array.from({ length: 8 }, (_, k) => Int32Array.from([...world.tokenizer.encode(`press ${k}`), EOA]))
    /** The agent here is a random policy over the valid actions (never the expert's key). */
    const randomAction = (s: Segment.Segment, i: number): Int32Array => {
      const expert = world.tokenizer.decode(Segment.expertAction(s))
      const others = keys.filter((k) => world.tokenizer.decode(k) !== expert)
      return others[(i * 5 + s.step) % others.length]!
    }
    const agent = (segs: ReadonlyArray<Segment.Segment>): Array<Sample.AgentAction> =>
      segs.map((segment, i) => {
        const tokens = randomAction(segment, i)
        return { segment, sample: 0, tokens, logp: new Float32Array(tokens.length), stopped: true, text: world.tokenizer.decode(tokens) }
      })
    const records: Array<Metrics.MetricRecord> = []
    const config = { ...ImplicitReward.defaults, batchSize: 64, steps: 8, minibatchSize: 64, learningRate: 1e-3 }
    const ranked = await Fixtures.run(
      Effect.gen(function*() {
        yield* Models.ensureReward
        yield* Stream.runDrain(Stream.fromIterable(agent(world.train.slice(0, 100).flatMap(Segment.all))).pipe(ImplicitReward.implicitReward(config, { seed: 1, iteration: 0 })))
        const models = yield* Models.Models
        const phi = yield* models.get("reward")
        const ref = yield* models.get("reference")
        const pairs = Preference.pairs(phi.config.contextLength, agent(heldOut))
        const r = Preference.rewards(phi, pairs, Preference.logps(ref, pairs, 8192), config.beta, 8192)
        return { above: r.chosen.filter((c, i) => c > r.rejected[i]!).length / pairs.n, margin: r.chosen.reduce((s, c, i) => s + c - r.rejected[i]!, 0) / pairs.n }
      }),
      Fixtures.layer(world.tokenizer, Models.copy(novice), records)
    )
    const dpo = records.filter((r) => r.stage === "implicit_reward")
    expect(dpo[dpo.length - 1]!.values["dpo/accuracy"]!).toBeGreaterThan(0.75)
    expect(dpo[dpo.length - 1]!.values["reward/expert_mean"]!).toBeGreaterThan(dpo[dpo.length - 1]!.values["reward/step_mean"]!)
    expect(ranked.above).toBeGreaterThan(0.75) // chance: 0.5
    expect(ranked.margin).toBeGreaterThan(0.1)
  })

  it("trains on the pairs where the agent's action differs from the expert's only: a batch of expert actions changes nothing", async () => {
    const segments = world.train.slice(0, 10).flatMap(Segment.all)
    const half = (i: number) => i % 2 === 0
    // the agent wrote the expert's action at every state (first batch), then at every other state (second batch)
    const actions = (differ: (i: number) => boolean): Array<Sample.AgentAction> =>
      segments.map((segment, i) => {
        const expert = Segment.expertAction(segment)
        const tokens = differ(i) ? Int32Array.from([...world.tokenizer.encode("press 9"), EOA]) : expert
        return { segment, sample: 0, tokens, logp: new Float32Array(tokens.length), stopped: true, text: world.tokenizer.decode(tokens) }
      })
    const records: Array<Metrics.MetricRecord> = []
    const config = { ...ImplicitReward.defaults, batchSize: segments.length, steps: 4, minibatchSize: 8, learningRate: 1e-3 }
    const { start, afterSame, afterHalf } = await Fixtures.run(
      Effect.gen(function*() {
        yield* Models.ensureReward
        const models = yield* Models.Models
        const start = Fixtures.weights(yield* models.get("reward"))
        yield* Stream.runDrain(Stream.fromIterable(actions(() => false)).pipe(ImplicitReward.implicitReward(config, { seed: 1, iteration: 0 })))
        const afterSame = Fixtures.weights(yield* models.get("reward"))
        yield* Stream.runDrain(Stream.fromIterable(actions(half)).pipe(ImplicitReward.implicitReward(config, { seed: 1, iteration: 1 })))
        return { start, afterSame, afterHalf: Fixtures.weights(yield* models.get("reward")) }
      }),
      Fixtures.layer(world.tokenizer, Models.copy(novice), records)
    )
    expect(Fixtures.sameWeights(afterSame, start)).toBe(true)
    expect(Fixtures.sameWeights(afterHalf, start)).toBe(false)
    const [same, mixed] = records.filter((r) => r.stage === "implicit_reward")
    expect(same!.values["dpo/pairs"]).toBe(0)
    expect(same!.values["loss/dpo"]).toBeUndefined()
    expect(same!.step).toBe(0) // no update taken
    const differing = segments.filter((s, i) => half(i) && world.tokenizer.decode(Segment.expertAction(s)) !== "press 9").length
    expect(mixed!.values["dpo/pairs"]).toBe(differing)
    expect(mixed!.step).toBe(Math.ceil(config.steps * differing / segments.length)) // proportionally fewer updates
    expect(mixed!.values["reward/auc_pairs"]).toBe(differing)
    expect(Number.isFinite(mixed!.values["reward/auc_reference"])).toBe(true)
  })
})

/** StepAgent-implicit as the tests run it on the tiny model (see docs/stages.md on these settings). */
const stepAgentConfig = StepAgent.config({
  sample: { maxTokens: 8 },
  implicit: { steps: 4, minibatchSize: 64, learningRate: 1e-3, nllCoef: 1 },
  ppo: { learningRate: 1e-3, epochs: 4, minibatchSize: 32 }
})

describe("StepAgent", () => {
  // Whether the iterations raise the expert's held-out likelihood is an empirical question, not a law: on this toy world it
  // held for seed 1 and not for seeds 2 and 3 (before and after packing), as the paper table finds on qa (docs/paper-table.md).
  // The direction of a PPO update under a given reward is tested in Wiring.test.ts; here, that three iterations run end to
  // end and move the policy.
  it("a few implicit iterations run sampling, reward and PPO end to end and move the policy", async () => {
    const records: Array<Metrics.MetricRecord> = []
    const before = Fixtures.expertLogLikelihood(novice, heldOut)
    const after = await Fixtures.run(
      Effect.gen(function*() {
        yield* Stream.runDrain(StepAgent.iterations(stepAgentConfig, { seed: 1, count: 3 }, () => Stream.fromIterable(world.train.slice(0, 100))))
        return Fixtures.expertLogLikelihood(yield* (yield* Models.Models).get("policy"), heldOut)
      }),
      Fixtures.layer(world.tokenizer, Models.copy(novice), records)
    )
    expect(Math.abs(after - before)).toBeGreaterThan(1e-3)
    expect(Number.isFinite(after)).toBe(true)
    const stages = new Set(records.map((r) => r.stage))
    expect([...stages].sort()).toEqual(["implicit_reward", "ppo", "sample"])
    for (const name of ["policy/approxkl", "policy/clipfrac", "policy/entropy", "loss/policy", "loss/value", "objective/kl", "reward/step_mean", "perf/tokens_per_s"]) {
      expect(records.filter((r) => r.stage === "ppo").every((r) => Number.isFinite(r.values[name]))).toBe(true)
    }
    expect(new Set(records.map((r) => r.iteration))).toEqual(new Set([0, 1, 2]))
  }, 120_000) // ~40 s alone; over 60 s when the whole suite shares the 2 cores (the reward model now also scores each batch before training on it)

  it("a reward warm-up iteration trains the reward model and leaves the policy as it was; the next one runs PPO", async () => {
    const records: Array<Metrics.MetricRecord> = []
    const config = { ...stepAgentConfig, rewardWarmup: 1 }
    const source = () => Stream.fromIterable(world.train.slice(0, 12))
    const { policy0, reward0, policy1 } = await Fixtures.run(
      Effect.gen(function*() {
        const models = yield* Models.Models
        yield* Stream.runDrain(StepAgent.iteration(config, { seed: 3, iteration: 0 })(source()))
        const policy0 = Fixtures.weights(yield* models.get("policy"))
        const reward0 = Fixtures.weights(yield* models.get("reward"))
        yield* Stream.runDrain(StepAgent.iteration(config, { seed: 3, iteration: 1 })(source()))
        return { policy0, reward0, policy1: Fixtures.weights(yield* models.get("policy")) }
      }),
      Fixtures.layer(world.tokenizer, Models.copy(novice), records)
    )
    const start = Fixtures.weights(novice)
    expect(Fixtures.sameWeights(policy0, start)).toBe(true) // warm-up: no PPO step
    expect(Fixtures.sameWeights(reward0, start)).toBe(false) // π_φ took its DPO steps
    expect(Fixtures.sameWeights(policy1, start)).toBe(false) // after the warm-up, PPO moves the policy
    expect(records.filter((r) => r.stage === "ppo").every((r) => r.iteration === 1)).toBe(true)
    expect(records.some((r) => r.stage === "implicit_reward" && r.iteration === 0)).toBe(true)
  }, 60_000)

  it("is deterministic: the same seed gives identical metrics (both reward variants, and evaluation)", async () => {
    const once = async () => {
      const records: Array<Metrics.MetricRecord> = []
      await Fixtures.run(
        Effect.gen(function*() {
          const source = () => Stream.fromIterable(world.train.slice(0, 12))
          yield* Stream.runDrain(StepAgent.iteration({ ...stepAgentConfig, reward: "implicit" }, { seed: 5, iteration: 0 })(source()))
          yield* Stream.runDrain(StepAgent.iteration(StepAgent.config({ reward: "inverse", sample: { maxTokens: 8, temperature: 1 }, ppo: { epochs: 1 } }), { seed: 5, iteration: 1 })(source()))
          yield* Stream.runDrain(Evaluate.tasks("test", 4).pipe(Evaluate.evaluate({ ...Evaluate.defaults, maxTokens: 8, temperature: 1 }, { seed: 5, iteration: 1 })))
        }).pipe(Effect.provide(envLayer)),
        Fixtures.layer(world.tokenizer, Models.copy(novice), records)
      )
      return records.map((r) => ({ ...r, values: Object.fromEntries(Object.entries(r.values).filter(([k]) => !k.startsWith("perf/") && !k.startsWith("timing/"))) }))
    }
    const a = await once()
    const b = await once()
    expect(a.length).toBeGreaterThan(10)
    expect(new Set(a.map((r) => r.stage))).toEqual(new Set(["sample", "implicit_reward", "inverse_reward", "ppo", "evaluate"]))
    expect(b).toEqual(a)
  })
})
