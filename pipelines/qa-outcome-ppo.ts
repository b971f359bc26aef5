import { experiment } from "./experiment.ts"

/** outcome-ppo on qa: see experiment.ts for the shared budget. */
export default experiment("qa", "outcome-ppo")
