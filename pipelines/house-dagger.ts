import { houseDagger } from "./experiment.ts"

/**
 * house-sft-2400.ts's behaviour cloning (2,400 steps with recovery turns, ~96 min on 2 cores), then four DAgger rounds:
 * the policy plays 256 train tasks a round, the expert relabels the states it reached, and SFT trains on them mixed
 * with as many expert trajectories (512 steps in all, ~20 min). pipelines/house-dagger-control.ts spends the same
 * steps on expert data only. Measured: docs/paper-table.md.
 */
export default houseDagger("dagger")
