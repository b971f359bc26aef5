import { experiment } from "./experiment.ts"

/** stepagent-implicit on qa: see experiment.ts for the shared budget. */
export default experiment("qa", "stepagent-implicit")
