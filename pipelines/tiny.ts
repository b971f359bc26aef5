import { define } from "../src/pipeline/Pipeline.ts"

/**
 * A tiny pipeline for smoke tests and the kill-and-resume test: the `tiny` model with the copy head, a few qa
 * trajectories (SFT on 24 of them, two epochs in a shuffled order with a decaying learning rate), two
 * StepAgent-implicit iterations on the held-out pool (the other 8), a short evaluation with the train-split and
 * action-accuracy checks. Seconds on 2 cores.
 */
export default define({
  name: "tiny",
  method: "stepagent-implicit",
  seed: 1,
  env: { name: "qa" },
  data: { train: ["data/qa-train.arrows"], limit: 32 },
  tokenizer: { vocab: 300 },
  model: { preset: "tiny", overrides: { copyHead: true } },
  stages: [
    { stage: "sft", epochs: 2, batchSize: 8, trajectories: 24, warmupSteps: 2 },
    { stage: "stepagent", reward: "implicit", iterations: 2, trajectoriesPerIteration: 8, sample: { batchSize: 16 }, implicit: { batchSize: 16 }, ppo: { batchSize: 16, minibatchSize: 8, epochs: 1 } },
    { stage: "evaluate", n: 8, parallel: 8, trainEpisodes: 4, actionAccuracyTasks: 4 }
  ]
})
