import { define } from "/work/wt-exp2/src/pipeline/Pipeline.ts"
import { longSft } from "/work/wt-exp2/pipelines/experiment.ts"

// a mechanism probe (preregistered in docs/paper-table.md, nineteenth session): house-sft-2400.ts's recipe with `small`
// without its copy head (house's names are a closed catalogue: nothing at test time needs copying from the context),
// checkpointed every 100 steps
const base = longSft("house", 4)
export default define({
  ...base,
  name: "house-sft-2400-nocopy",
  method: "sft-2400-nocopy",
  model: { preset: "small", overrides: { copyHead: false, copyMatch: false } },
  stages: base.stages.map((e) => e.stage === "sft" ? { ...e, checkpointEvery: 100 } : e)
})
