import { experiment } from "./experiment.ts"

/** sft-more on qa: see experiment.ts for the shared budget. */
export default experiment("qa", "sft-more")
