import { define } from "../../src/pipeline/Pipeline.ts"

/**
 * pipelines/tiny.ts with outcome PPO in place of StepAgent: rollouts sampled at temperature 1 (the random stream
 * matters), PPO on their tokens. The cluster test runs it in-process and with workers and compares.
 */
export default define({
  name: "tiny-outcome",
  method: "outcome-ppo",
  seed: 1,
  env: { name: "qa" },
  data: { train: ["data/qa-train.arrows"], limit: 32 },
  tokenizer: { vocab: 300 },
  model: { preset: "tiny", overrides: { copyHead: true } },
  stages: [
    { stage: "sft", epochs: 2, batchSize: 8, trajectories: 24, warmupSteps: 2 },
    { stage: "outcomePpo", iterations: 2, episodesPerIteration: 16, parallel: 8, ppo: { batchSize: 16, minibatchSize: 8, epochs: 1 } },
    { stage: "evaluate", n: 8, parallel: 8, trainEpisodes: 0, actionAccuracyTasks: 0 }
  ]
})
