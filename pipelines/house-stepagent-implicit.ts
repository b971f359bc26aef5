import { experiment } from "./experiment.ts"

/** stepagent-implicit on house: see experiment.ts for the shared budget. */
export default experiment("house", "stepagent-implicit")
