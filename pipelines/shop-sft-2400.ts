import { longSft } from "./experiment.ts"

/**
 * The shop-sft-long.ts recipe at half its steps: 4 passes over the same 4,800 expert trajectories with recoveries,
 * 2,400 steps of 8 at lr 2e-3 with warm-up and cosine decay ending at step 2,400. Why: the 4,800-step run needs ~4 h
 * at one thread beside its twin, more than a session on these machines (a new machine each session: a run that
 * does not end in one session is lost), and at 1,800-2,100 steps of the long run (its rate still near the peak) the
 * unseen train success was still rising (docs/paper-table.md). This is the largest budget of the recipe that ends
 * within one session, evaluation included.
 */
export default longSft("shop", 4)
