import { houseDagger, wideSft } from "./experiment.ts"

/** The control of house-dagger-wide.ts: the same 512 steps on expert trajectories only (`sft-more-dagger-wide`). */
export default { ...houseDagger("control", undefined, 1, wideSft("house")), name: "house-dagger-wide-control", method: "sft-more-dagger-wide" }
