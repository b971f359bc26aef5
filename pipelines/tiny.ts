import { define } from "../src/pipeline/Pipeline.ts"

/**
 * A tiny pipeline for smoke tests and the kill-and-resume test: the `tiny` model, a few qa trajectories,
 * SFT, two StepAgent-implicit iterations, a short evaluation. Seconds on 2 cores.
 */
export default define({
  name: "tiny",
  method: "stepagent-implicit",
  seed: 1,
  env: { name: "qa" },
  data: { train: ["data/qa-train.arrows"], limit: 24 },
  tokenizer: { vocab: 300 },
  model: { preset: "tiny" },
  stages: [
    { stage: "sft", epochs: 1, batchSize: 8 },
    { stage: "stepagent", reward: "implicit", iterations: 2, trajectoriesPerIteration: 8, sample: { batchSize: 16 }, implicit: { batchSize: 16 }, ppo: { batchSize: 16, minibatchSize: 8, epochs: 1 } },
    { stage: "evaluate", n: 8, parallel: 8 }
  ]
})
