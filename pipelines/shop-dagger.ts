import { shopDagger } from "./experiment.ts"

/**
 * shop's exploring-expert behaviour cloning (2,400 steps with recovery turns at context 1,024), then four DAgger rounds
 * with shop's expert acting from any state (src/env/shop/Replan.ts): the policy plays 256 train tasks a round, the
 * expert relabels the states it reached, and SFT trains on them mixed with as many expert trajectories (512 steps).
 * pipelines/house-dagger.ts is the same design on house.
 */
export default shopDagger("dagger")
