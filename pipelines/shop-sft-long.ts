import { longSft } from "./experiment.ts"

/**
 * A long shop SFT, the twin of house-sft-long.ts (docs/paper-table.md, "shop: a first SFT at a larger budget"): `small`,
 * 8 passes over the 4,800 expert trajectories of seed 0's train tasks 100-4,899 (shop has 5,000 train tasks a world, and
 * other worlds may hold seed 0's test products) with recoveries (an agent-like mistake before about one expert action in
 * five, flagged as no target: a garbled click answered "Invalid action!", the failure measured at 600 steps), 4,800
 * steps of 8 at lr 2e-3 decaying over them. At 600 steps: action accuracy 42.5%, test 4.5%. Checkpointed every 300
 * steps (`checkpointEvery`), so `stepagent resume` continues it across sessions. The evaluate stage's train episodes
 * (train:0-99) are unseen train tasks: where a shop budget is chosen, never on the test split.
 */
export default longSft("shop")
