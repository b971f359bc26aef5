import { experiment } from "./experiment.ts"

/** step-dpo on qa: see experiment.ts for the shared budget. */
export default experiment("qa", "step-dpo")
