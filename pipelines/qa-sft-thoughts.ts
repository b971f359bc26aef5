import type { Input } from "../src/pipeline/Pipeline.ts"
import { experiment } from "./experiment.ts"

/**
 * sft on qa with the experts' thoughts: every assistant turn is ReAct's `Thought: ...\nAction: ...` (the qa expert's
 * templated reasoning: which page to read next, the fact it gave, the comparison), so the policy writes its reasoning
 * before each action. The turns are ~5x longer (median 59 tokens), hence a 768-token context (action reserve 96).
 * Otherwise the table's budget as it was when measured (2026-12-04: `small`, 2,000 trajectories from worlds 0-3, 3
 * epochs at 1e-3); compared with qa-sft.ts of then in docs/paper-table.md.
 */
const base = experiment("qa", "sft")
const definition: Input = {
  ...base,
  name: "qa-sft-thoughts",
  data: { generate: { n: 2128, seeds: [0, 1, 2, 3], thoughts: true } },
  model: { preset: "small", overrides: { contextLength: 768 } },
  stages: base.stages.map((s) => s.stage === "sft" ? { ...s, epochs: 3, learningRate: 1e-3, trajectories: 2000 } : s)
}
export default definition
