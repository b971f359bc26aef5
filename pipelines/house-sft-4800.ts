import type { Input } from "../src/pipeline/Pipeline.ts"
import { experiment } from "./experiment.ts"

/**
 * A house SFT budget probe (docs/paper-table.md, "house: a first SFT at a larger budget"): `small`, one pass over 4,800
 * expert trajectories of seed 0's train tasks (600 steps of 8) at the qa recipe's lr 2e-3. house splits its layouts per
 * world seed, so validation worlds are refused; instead SFT starts at train:100 (`offset`), and the evaluate stage's
 * train episodes (train:0-99) are unseen train tasks: where a house budget is chosen, never on the test split.
 * Measured (seed 1, one thread beside other runs: ~44 min of SFT, ~11 min of test episodes): token accuracy 0.90,
 * held-out action accuracy 51.2%, unseen train tasks 0%, test 1.5%.
 */
const base = experiment("house", "sft")
const definition: Input = {
  ...base,
  name: "house-sft-4800",
  method: "sft-4800", // its own row in `stepagent table`
  data: { generate: { n: 4_900, seeds: [0] } },
  stages: [
    { stage: "sft", epochs: 1, offset: 100, trajectories: 4_800, learningRate: 2e-3 },
    { stage: "evaluate", n: 200, trainEpisodes: 100 }
  ]
}
export default definition
