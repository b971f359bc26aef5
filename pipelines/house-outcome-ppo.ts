import { experiment } from "./experiment.ts"

/** outcome-ppo on house: see experiment.ts for the shared budget. */
export default experiment("house", "outcome-ppo")
