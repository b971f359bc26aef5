import { experiment } from "./experiment.ts"

/** step-dpo on house: see experiment.ts for the shared budget. */
export default experiment("house", "step-dpo")
