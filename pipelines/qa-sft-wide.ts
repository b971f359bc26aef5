import type { Input } from "../src/pipeline/Pipeline.ts"
import { experiment } from "./experiment.ts"

/**
 * sft on qa with the SFT budget chosen on the validation world (world 4, seed 1; docs/paper-table.md): `small` widened
 * to dModel 192 (~2.3M parameters), peak learning rate 2e-3, 6 epochs (1,500 steps of 8) instead of 3. Each of the
 * three moved validation success up on its own (lr 1e-3 -> 2e-3: 16.0 -> 18.0%; + dModel 192: 24.5%; + 6 epochs:
 * 27.0%). Data: 2,000 trajectories from worlds 0-3 (the table's budget before 2026-12-05, which then moved to 24
 * worlds seen once: experiment.ts); otherwise the budget of experiment.ts.
 */
const base = experiment("qa", "sft")
const definition: Input = {
  ...base,
  name: "qa-sft-wide",
  method: "sft-wide", // its own row in `stepagent table`, apart from the table budget's sft
  data: { generate: { n: 2128, seeds: [0, 1, 2, 3] } },
  model: { ...base.model, overrides: { dModel: 192 } },
  stages: base.stages.map((s) => s.stage === "sft" ? { ...s, epochs: 6, learningRate: 2e-3, trajectories: 2000 } : s)
}
export default definition
