import { experiment } from "./experiment.ts"

/** sft on qa: see experiment.ts for the shared budget. */
export default experiment("qa", "sft")
