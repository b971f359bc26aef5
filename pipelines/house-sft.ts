import { experiment } from "./experiment.ts"

/** sft on house: see experiment.ts for the shared budget. */
export default experiment("house", "sft")
