import { define } from "../src/pipeline/Pipeline.ts"

/**
 * The quickstart: the `small` model (with its copy head) on the qa environment (HotpotQA-like, ReAct tools: the
 * shortest trajectories of the three). Behaviour cloning on expert trajectories generated from four worlds (the
 * "novice"), then one StepAgent iteration with the implicit step reward on held-out expert trajectories, then
 * evaluation on 200 held-out questions about a knowledge base the training data never saw, with the train-split
 * and action-accuracy checks. Sized to finish within 10 minutes on 2 cpu cores without OpenBLAS (measured with
 * 1,400 SFT trajectories: 440 s for the SFT's 350 steps, ~1.3 s a step; 52 s for the StepAgent iteration, ~2.2 s
 * a trajectory with packed step branches; 103 s for the evaluation; 613 s in all, hence 1,250); the numbers it
 * reaches are in docs/paper-table.md.
 */
export default define({
  name: "quickstart",
  method: "stepagent-implicit",
  seed: 1,
  env: { name: "qa" },
  data: { generate: { n: 1274, seeds: [0, 1, 2, 3] } }, // 1,250 for SFT, 24 held out for the StepAgent iteration
  tokenizer: { vocab: 1024 },
  model: { preset: "small" },
  stages: [
    { stage: "sft", epochs: 2, trajectories: 1250 }, // 314 optimizer steps: the time budget's bulk
    // PPO at the stage's own rate (1e-5): in the paper table (docs/paper-table.md) 1e-4 moved the policy away from SFT
    // faster than the step rewards, still weak at this size, could guide it
    { stage: "stepagent", reward: "implicit", iterations: 1, trajectoriesPerIteration: 24 },
    { stage: "evaluate", n: 200, trainEpisodes: 50 }
  ]
})
