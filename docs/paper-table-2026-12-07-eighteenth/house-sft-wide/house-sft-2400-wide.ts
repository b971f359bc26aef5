import { define } from "/work/wt-exp2/src/pipeline/Pipeline.ts"
import { longSft } from "/work/wt-exp2/pipelines/experiment.ts"

// a capacity probe (preregistered in docs/paper-table.md, eighteenth session): house-sft-2400.ts's recipe with the
// model 1.5x wider (dModel 192, ~2.3M parameters, as qa-sft-wide.ts), checkpointed every 100 steps
const base = longSft("house", 4)
export default define({
  ...base,
  name: "house-sft-2400-wide",
  method: "sft-2400-wide",
  model: { preset: "small", overrides: { dModel: 192 } },
  stages: base.stages.map((e) => e.stage === "sft" ? { ...e, checkpointEvery: 100 } : e)
})
