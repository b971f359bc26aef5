import { houseDagger } from "./experiment.ts"

/** The control of house-dagger.ts: the same warm start and 512 more SFT steps at the same rate, on expert data only. */
export default houseDagger("control")
