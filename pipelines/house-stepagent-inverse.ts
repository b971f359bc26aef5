import { experiment } from "./experiment.ts"

/** stepagent-inverse on house: see experiment.ts for the shared budget. */
export default experiment("house", "stepagent-inverse")
