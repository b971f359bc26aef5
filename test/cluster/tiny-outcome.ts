import { define } from "../../src/pipeline/Pipeline.ts"
import tiny from "../../pipelines/tiny.ts"

/**
 * pipelines/tiny.ts with outcome PPO in place of StepAgent: rollouts sampled at temperature 1 (the random stream
 * matters), PPO on their tokens. The cluster test runs it in-process and with workers and compares.
 */
export default define({
  ...tiny,
  name: "tiny-outcome",
  method: "outcome-ppo",
  stages: [
    tiny.stages[0]!,
    { stage: "outcomePpo", iterations: 2, episodesPerIteration: 16, parallel: 8, ppo: { batchSize: 16, minibatchSize: 8, epochs: 1 } },
    { stage: "evaluate", n: 8, parallel: 8, trainEpisodes: 0, actionAccuracyTasks: 0 }
  ]
})
