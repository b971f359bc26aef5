import { define } from "../src/pipeline/Pipeline.ts"

/**
 * The quickstart: the `small` model (with its copy head) on the qa environment (HotpotQA-like, ReAct tools: the
 * shortest trajectories of the three). Behaviour cloning on expert trajectories generated from 32 worlds, each seen
 * once (the "novice": fresh worlds keep the model from memorising facts, docs/paper-table.md), then one StepAgent
 * iteration with the implicit step reward on held-out expert trajectories, then evaluation on 200 held-out questions
 * about a knowledge base the training data never saw, with the train-split and action-accuracy checks. Sized by
 * its held-out success (33.0% at 840 SFT steps against 22.5% at 628, docs/paper-table.md) for at most 10 minutes on
 * 2 cpu cores without OpenBLAS: measured alone on XNNPACK with the default training threads (--train-threads: each
 * step's passes and the evaluation's waves shared by the cores) on an Intel Xeon machine, 7 min 59 s in all with the
 * SIMD kernels of docs/model.md (8 min 47 s and 8 min 30 s with the first of them): SFT 0.49 s a step (413 s), the
 * StepAgent iteration 23 s, the evaluation 19 s (38.5% held out). An MLP of 3C instead of 4C would be ~11% cheaper and validated lower (35.0%
 * against 39.5%).
 */
export default define({
  name: "quickstart",
  method: "stepagent-implicit",
  seed: 1,
  env: { name: "qa" },
  // 6,720 for SFT (210 per world), 24 held out for the StepAgent iteration; world 4 is left out as in the paper table
  data: { generate: { n: 6744, seeds: [0, 1, 2, 3, ...Array.from({ length: 28 }, (_, i) => 5 + i)] } },
  tokenizer: { vocab: 1024 },
  model: { preset: "small" },
  stages: [
    // 840 optimizer steps, the time budget's bulk (validation success 34.5% against 28.5% at 628 steps, seed 1;
    // docs/paper-table.md); lr 2e-3: chosen on qa's validation world. Half the observation rows in the language-model
    // loss each step: ~4% a step cheaper, validation 36.5% against 34.5% with all of them (seed 1, docs/paper-table.md)
    { stage: "sft", epochs: 1, trajectories: 6720, learningRate: 2e-3, observationLossFraction: 0.5 },
    // PPO at the stage's own rate (1e-5): in the paper table (docs/paper-table.md) 1e-4 moved the policy away from SFT
    // faster than the step rewards, still weak at this size, could guide it
    { stage: "stepagent", reward: "implicit", iterations: 1, trajectoriesPerIteration: 24 },
    { stage: "evaluate", n: 200, trainEpisodes: 50 }
  ]
})
