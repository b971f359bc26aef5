import { experiment } from "./experiment.ts"

/** stepagent-inverse on qa: see experiment.ts for the shared budget. */
export default experiment("qa", "stepagent-inverse")
