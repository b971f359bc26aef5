import { Effect, Schema } from "effect"
import type * as Discriminator from "../model/Discriminator.ts"
import * as DiscriminatorPass from "../model/DiscriminatorPass.ts"
import * as Microbatch from "../model/Microbatch.ts"
import * as Packed from "../model/Packed.ts"
import * as Batched from "./Batched.ts"
import * as Field from "./Field.ts"
import * as Negatives from "./Negatives.ts"
import * as RewardAuc from "./RewardAuc.ts"
import * as Rewarded from "./Rewarded.ts"
import * as Run from "./Run.ts"
import * as Scoring from "./Scoring.ts"
import * as SharedStep from "./SharedStep.ts"
import type { AgentAction } from "./Sample.ts"

/**
 * Phase 3 of StepAgent, inverse variant (reflection, GAIL). For each batch of agent actions the
 * discriminator D(s, a) (role `discriminator`) takes `steps` updates, each on a balanced minibatch:
 * `minibatchSize` agent pairs (s_i, a_i^θ) pushed towards D = 1 and the expert pairs (s_i, a_i) at the
 * same states pushed towards D = 0, maximising E_πθ[log D] + E_πe[log(1 - D)]. Then every agent action
 * is emitted with its step reward r(s, a) = -log D(s, a), and the expert's at the same state (metrics).
 * The entropy bonus λ·H(π_θ) of this variant enters the PPO loss (`StepAgent`'s `inverse.entropyCoef`).
 */
export const Config = Schema.Struct({
  batchSize: Field.int(64), // agent actions per batch: each batch is trained on, then rewarded
  // discriminator updates per batch, each on a random minibatch: 4 of 16 are one pass over a batch of 64 (GAIL's usual).
  // At 1e-4 that left D's logits near 0 (r = -log D was log 2 plus noise); at 3e-4 from the SFT trunk, after the warm-up,
  // one pass reached the held-out success of 4 on qa at the table's budget (seeds 9-11, preregistered, docs/paper-table.md:
  // +0.3 [-2.8, +3.2] points, `reward/auc` 0.715 against 0.719) in 0.56x of the iteration's time
  steps: Field.int(4),
  // updates on the first batch a fresh discriminator sees, before it rewards anything: D starts from the SFT trunk with
  // an untrained head, whose reward would be log 2 for every action
  warmupSteps: Field.int(32, 0),
  // where D starts: "policy" copies the SFT policy (its trunk already reads states and actions; the value head becomes
  // D's logit), "fresh" a small transformer from a seed (`Discriminator.config`)
  init: Schema.Literals(["policy", "fresh"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("policy" as const))),
  minibatchSize: Field.int(16), // agent pairs per update (and as many expert pairs): 2 x 16 sequences of up to 512 tokens keep D's attention activations near 0.5 GB (64 reached the wasm heap's 4 GB limit on shop and crashed)
  learningRate: Field.nonNegative(3e-4), // as the implicit reward model's: a small model's head moves slowly at 1e-4
  maxGradNorm: Field.nonNegative(1), // TRL's max_grad_norm
  maxTokens: Field.int(8192), // padded tokens per scoring pass when rewarding
  // synthetic negatives per expert state (Negatives.ts), pushed towards D = 1 beside the agent's actions, never
  // rewarded or fed to PPO; the updates grow with the training set (as many passes over it): 0 = the paper's
  negatives: Field.int(0, 0),
  // which agent actions D trains on: "all" (GAIL's: every agent action against the expert's at its state) or
  // "differing" (only where the agent's action differs from the expert's, with proportionally fewer updates, as the
  // implicit reward's DPO): an agent action equal to the expert's is labelled both ways and only pulls D to 1/2 there.
  // "all" by default, the paper's: on house (docs/paper-table.md), where ~80% of a batch's actions are the expert's and D
  // trained on all stayed near chance (held-out `reward/auc` 0.515), "differing" ranked no better (0.444, one seed)
  trainOn: Schema.Literals(["all", "differing"]).pipe(Schema.withDecodingDefaultKey(Effect.succeed("all" as const))),
  // an update split into at least this many passes (by trajectory): two training threads can share it
  // (`--train-threads`), and the numbers do not depend on how many there are (as the implicit reward's `minPasses`)
  minPasses: Field.int(2)
})
export type Config = typeof Config.Type
export const defaults: Config = Schema.decodeUnknownSync(Config)({})

export const stage = "inverse_reward"

/** Requests 0..n-1 the experts' actions at the rows' states, n..2n-1 the agents' (a pair stays in one packed sequence). */
const requestsOf = (agent: ReadonlyArray<Packed.Request>, rows: ReadonlyArray<number>): Array<Packed.Request> => [
  ...rows.map((r) => ({ trajectory: agent[r]!.trajectory, step: agent[r]!.step })),
  ...rows.map((r) => agent[r]!)
]

/** Agent actions -> rewarded agent actions (same order). Logs `loss/disc`, `disc/*`, `reward/step_mean`, `reward/expert_mean` per batch. */
export const inverseReward = (config: Config, run: Run.Run) =>
  Batched.train({ span: "InverseReward.inverseReward", stage, run, batchSize: config.batchSize }, {
    models: ["discriminator"],
    optimizer: ["discriminator", { learningRate: config.learningRate, clipNorm: config.maxGradNorm }],
    step: ({ items, models, opt, rng, index, tokenizer }: Batched.Batch<AgentAction, "discriminator">) =>
      Effect.gen(function*() {
        const d = models.discriminator
        const n = items.length
        const agent = items.map((a): Packed.Request => ({ trajectory: a.segment.trajectory, step: a.segment.step, action: a.tokens }))
        const all = Array.from({ length: n }, (_, i) => i)
        // -log D of the batch's expert and agent actions at `rows` with D's weights of the moment (here, or on a cluster worker)
        const scored = (rows: ReadonlyArray<number>) =>
          Effect.map(
            Scoring.scores(d, tokenizer, "discriminator", requestsOf(agent, rows), config.maxTokens),
            (r): Rewarded.Rewards => ({ expert: r.slice(0, rows.length), agent: r.slice(rows.length) })
          )
        const m = Math.min(config.minibatchSize, n)
        // before D sees these pairs, at the differing ones only: `reward/auc` counts no other
        const differing = all.filter((i) => RewardAuc.differs(items[i]!))
        const heldOut = yield* scored(differing)
        const warm = opt.step === 0 ? config.warmupSteps : 0
        // the training rows: the agent's actions, then synthetic negatives (their own stream: the minibatch draws stay the same)
        const own = config.trainOn === "all" ? agent : differing.map((i) => agent[i]!)
        const train = [...own, ...Negatives.requests(Run.rng(run, `${stage}/negatives`, index), items, config.negatives)]
        const steps = Math.ceil(config.steps * train.length / config.batchSize) // a batch shorter than batchSize (an iteration's last): proportionally fewer
        // none when nothing is left to train on (every agent action the expert's, trainOn "differing", no negatives)
        let last: Discriminator.TrainStats | undefined
        for (let s = 0; s < (train.length === 0 ? 0 : steps + warm); s++) {
          const rows = Array.from(Run.groupedPermutation(rng, train.map((a) => a.trajectory)).subarray(0, m)).sort((a, b) => a - b) // whole trajectories: packed passes share trunks
          // requests 0..k-1 are the experts' actions, k..2k-1 the agents' (k < m when fewer rows are left to train on)
          const k = rows.length
          const packed = Packed.passes(Packed.pack(d.config.contextLength, requestsOf(train, rows)), Microbatch.trainingTokens(d.config, config.maxTokens), config.minPasses)
          const passes = DiscriminatorPass.plan(packed.map((p) => ({
            batch: p.batch,
            agent: Int32Array.from(p.requests.keys()).filter((j) => p.requests[j]! >= k),
            expert: Int32Array.from(p.requests.keys()).filter((j) => p.requests[j]! < k)
          })))
          // shared by the training threads when there are any (SharedStep), the same update on any number of them
          const outcome = yield* SharedStep.guarded(
            d,
            opt,
            passes.map((pass) => ({ kind: "discriminator", pass }) as const),
            DiscriminatorPass.width,
            (r) => DiscriminatorPass.stats(passes, r),
            (t) => [["loss/disc", t.loss], ["grad/norm", t.gradNorm]]
          )
          if (!outcome.ok) return outcome
          last = outcome.value
        }
        return { ok: true, value: { last, heldOut, rewards: yield* scored(all) } } as const
      }),
    emit: (r, seconds, b) => {
      const record = b.record(b.opt.step, {
        ...(r.last === undefined ? {} : {
          "loss/disc": r.last.loss,
          "disc/accuracy": r.last.accuracy,
          "disc/expert_prob": r.last.expertProb,
          "disc/agent_prob": r.last.agentProb,
          "grad/norm": r.last.gradNorm
        }),
        ...Rewarded.metrics(r.rewards, r.heldOut, Array.from(r.heldOut.agent, () => true)),
        "timing/inverse_reward_s": seconds
      })
      return { records: [record], out: Rewarded.attach(b.items, r.rewards) }
    },
    finite: ["reward/step_mean"]
  })
