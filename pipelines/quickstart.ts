import { define } from "../src/pipeline/Pipeline.ts"

/**
 * The quickstart: the `small` model on the qa environment (HotpotQA-like, ReAct tools: the shortest
 * trajectories of the three, so the whole job fits in minutes on 2 cpu cores). Behaviour cloning on expert
 * trajectories (the "novice"), then StepAgent with the implicit step reward, then evaluation on 200 held-out
 * questions about a knowledge base the training data never saw.
 */
export default define({
  name: "quickstart",
  method: "stepagent-implicit",
  seed: 1,
  env: { name: "qa" },
  data: { train: ["data/qa-train.arrows"], limit: 1000 },
  tokenizer: { vocab: 1024 },
  model: { preset: "small" },
  stages: [
    { stage: "sft", epochs: 3 },
    {
      stage: "stepagent",
      reward: "implicit",
      iterations: 4,
      trajectoriesPerIteration: 48,
      ppo: { learningRate: 1e-4, batchSize: 64, minibatchSize: 16, epochs: 2 }
    },
    { stage: "evaluate", n: 200 }
  ]
})
