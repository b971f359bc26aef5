import { experiment } from "./experiment.ts"

/** stepagent-implicit on shop: see experiment.ts for the shared budget. */
export default experiment("shop", "stepagent-implicit")
