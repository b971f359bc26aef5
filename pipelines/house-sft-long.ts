import { longSft } from "./experiment.ts"

/**
 * A long house SFT (docs/paper-table.md, "house: twice the steps, and recoveries"): `small`, 8 passes over the 4,800
 * expert trajectories of seed 0's train tasks 100-4,899 (house has 5,000 train tasks a world, and other worlds may hold
 * seed 0's test layouts) with recoveries (an agent-like mistake before about one expert action in five, flagged as no
 * target), 4,800 steps of 8 at lr 2e-3 decaying over them. At 1,200 steps the held-out action
 * accuracy was 61-63% and still rising, episodes 5-7%: the policy has not yet learnt to read what it acts on.
 * Checkpointed every 300 steps (`checkpointEvery`, ~15-25 min), so `stepagent resume` continues it across sessions.
 * As house-sft-4800.ts, SFT starts at train:100 and the evaluate stage's train episodes (train:0-99) are unseen train
 * tasks: where a house budget is chosen, never on the test split.
 */
export default longSft("house")
