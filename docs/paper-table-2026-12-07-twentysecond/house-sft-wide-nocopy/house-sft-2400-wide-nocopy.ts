import { define } from "/work/wt-exp2/src/pipeline/Pipeline.ts"
import { longSft } from "/work/wt-exp2/pipelines/experiment.ts"

// preregistered in docs/paper-table.md (twenty-second session): the wide house SFT (house-sft-2400-wide's recipe,
// dModel 192) without the copy head, after the copy-head probe on `small` (all actions 66.4 -> 81.9%, searches 22.1 ->
// 67.2% at trained states); the code (da5f0a9) and backend (one thread) of the wide run's seed 1
const base = longSft("house", 4)
export default define({
  ...base,
  name: "house-sft-2400-wide-nocopy",
  method: "sft-2400-wide-nocopy",
  model: { preset: "small", overrides: { dModel: 192, copyHead: false, copyMatch: false } },
  stages: base.stages.map((e) => e.stage === "sft" ? { ...e, checkpointEvery: 100 } : e)
})
