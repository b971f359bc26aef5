import { experiment } from "./experiment.ts"

/** stepagent-inverse on shop: see experiment.ts for the shared budget. */
export default experiment("shop", "stepagent-inverse")
