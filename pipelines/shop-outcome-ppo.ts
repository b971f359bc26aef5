import { experiment } from "./experiment.ts"

/** outcome-ppo on shop: see experiment.ts for the shared budget. */
export default experiment("shop", "outcome-ppo")
