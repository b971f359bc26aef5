import { experiment } from "./experiment.ts"

/** step-dpo on shop: see experiment.ts for the shared budget. */
export default experiment("shop", "step-dpo")
