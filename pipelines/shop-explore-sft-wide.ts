import { define } from "../src/pipeline/Pipeline.ts"
import { wide, wideSft } from "./experiment.ts"

/**
 * shop-explore-sft.ts at 4 passes (2,400 steps, context 1,024, the exploring expert) at dModel 192 (experiment.ts's
 * `wide`): the preregistered probe of the nineteenth session (docs/paper-table.md), read against `small`'s run of the same
 * recipe (test 20.5%, unseen train 11.0%, held-out action accuracy 54.8%). Checkpointed every 100 steps so that
 * `stepagent resume` continues it across sessions (several hours at two threads). Other seeds: `--set seed=2`.
 */
const base = wideSft("shop")
export default define({
  ...base,
  name: "shop-explore-sft-2400-wide",
  method: "sft-explore-2400-wide",
  env: { name: "shop", expert: "explore" },
  model: { ...wide, overrides: { ...wide.overrides, contextLength: 1024 } }
})
