import { wideSft } from "./experiment.ts"

/**
 * house-sft-2400.ts at dModel 192 (experiment.ts's `wide`): the preregistered capacity probe's pipeline (seed 1: test
 * 24.0% against 8.0% for `small`, docs/paper-table.md), checkpointed every 100 steps so that `stepagent resume`
 * continues it across sessions (~100 min at two threads). Other seeds: `--set seed=2`.
 */
export default wideSft("house")
