import { experiment } from "./experiment.ts"

/** sft-more on shop: see experiment.ts for the shared budget. */
export default experiment("shop", "sft-more")
