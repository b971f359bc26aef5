import { define } from "../../../src/pipeline/Pipeline.ts"
import { wide } from "../../../pipelines/experiment.ts"

/**
 * The house reward-data probe (twenty-first session, preregistered in docs/paper-table.md before its runs): does the
 * step reward rank the expert's action first at new states once its model has trained on eight times more contrasts?
 * The twentieth session's probe (house-auc.ts) with one stage before it. Both stages keep the policy the wide SFT's
 * seed-1 warm start (`rewardWarmup` = every iteration), so only the reward model (π_φ, or D from the SFT trunk) trains,
 * with the table's settings (16 updates a batch of 64):
 *   A. 8 rounds of 64 expert trajectories from train:100-611 (states the SFT trained on, new to the reward model):
 *      ~5,400 states, ~1,100 where the sampled action differs from the expert's;
 *   B. the earlier probe's 4 rounds of 16 from the held-out pool train:4900-4963, where `reward/auc` is read.
 * Stages share the reward model (Models.ensure*); each stage's random streams derive from its own index.
 *   stepagent run --threads 1 --out /work/runs/haucdata docs/paper-table-2026-12-07-twentyfirst/house-auc-data/house-auc-data.ts
 *   ... --set stages.0.reward=inverse --set stages.1.reward=inverse --set method=auc-data-inverse
 */
const round = { implicit: { steps: 16 }, inverse: { steps: 16 } } as const

export default define({
  name: "house-auc-data",
  method: "auc-data-implicit",
  seed: 1,
  env: { name: "house" },
  data: { generate: { n: 4_900 + 4 * 16, seeds: [0], recoveries: 0.2 } },
  tokenizer: { vocab: 1024 },
  model: wide,
  init: { checkpoint: "/work/runs/wide/house-sft-2400-wide__1__20261207T034827Z/checkpoints/unit-0024" },
  stages: [
    { stage: "stepagent", reward: "implicit", ...round, iterations: 8, trajectoriesPerIteration: 64, poolOffset: 100, rewardWarmup: 8 },
    { stage: "stepagent", reward: "implicit", ...round, iterations: 4, trajectoriesPerIteration: 16, poolOffset: 4_900, rewardWarmup: 4 }
  ]
})
