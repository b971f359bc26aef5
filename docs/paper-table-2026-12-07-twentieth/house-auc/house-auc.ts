import { define } from "../../../src/pipeline/Pipeline.ts"
import { wide } from "../../../pipelines/experiment.ts"

/**
 * The house reward-signal probe (twentieth session, preregistered in docs/paper-table.md before its runs): the table's
 * StepAgent round on house (16 pool trajectories a round, 4 rounds, 16 reward-model updates a batch of 64: experiment.ts's
 * stepagent-implicit / -inverse) from the wide SFT's seed-1 checkpoint, with `rewardWarmup: 4`, so the reward model
 * trains and the policy never changes: both variants score the same agent actions. The pool is train:4900-4963, after
 * the 4,800 trajectories (train:100-4899) the warm start trained on. No evaluation: the policy is the warm start's.
 *   stepagent run docs/paper-table-2026-12-07-twentieth/house-auc/house-auc.ts --set init.checkpoint=<wide run>/checkpoints/unit-0024
 *   ... --set stages.0.reward=inverse --set method=auc-inverse
 */
export default define({
  name: "house-auc",
  method: "auc-implicit",
  seed: 1,
  env: { name: "house" },
  data: { generate: { n: 4_900 + 4 * 16, seeds: [0], recoveries: 0.2 } },
  tokenizer: { vocab: 1024 },
  model: wide,
  init: { checkpoint: "/work/runs/wide/house-sft-2400-wide__1__20261207T034827Z/checkpoints/unit-0024" },
  stages: [{
    stage: "stepagent",
    reward: "implicit",
    implicit: { steps: 16 },
    inverse: { steps: 16 },
    iterations: 4,
    trajectoriesPerIteration: 16,
    poolOffset: 4_900,
    rewardWarmup: 4
  }]
})
