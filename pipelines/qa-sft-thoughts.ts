import type { Input } from "../src/pipeline/Pipeline.ts"
import { experiment } from "./experiment.ts"

/**
 * sft on qa with the experts' thoughts: every assistant turn is ReAct's `Thought: ...\nAction: ...` (the qa expert's
 * templated reasoning: which page to read next, the fact it gave, the comparison), so the policy writes its reasoning
 * before each action. The turns are ~5x longer (median 59 tokens), hence a 768-token context (action reserve 96).
 * Otherwise the budget of experiment.ts; compared with qa-sft.ts in docs/paper-table.md.
 */
const base = experiment("qa", "sft")
const definition: Input = {
  ...base,
  name: "qa-sft-thoughts",
  data: { ...base.data, generate: { ...base.data.generate!, thoughts: true } },
  model: { ...base.model, overrides: { contextLength: 768 } }
}
export default definition
