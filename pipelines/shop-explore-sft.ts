import { define } from "../src/pipeline/Pipeline.ts"
import { longSft } from "./experiment.ts"

/**
 * shop's SFT on the exploring expert (docs/env-shop.md): the shop-sft-2400.ts recipe (4,800 expert trajectories with
 * recoveries, lr 2e-3, warm-up and cosine decay) for 3 passes (1,800 steps), with `env.expert: "explore"` and twice
 * `small`'s context. Why: the direct expert clicks the product it knows from the catalogue, which the results page
 * does not show (from that page its choice is the top result in 32% of the test tasks), while a shopper who clicks the
 * results in rank order and goes back from those that lack a wanted option succeeds on 94%
 * (pipelines/shop-heuristics.ts). Going back and clicking the next result needs the earlier turns: at 512 tokens
 * the state after `< Prev` holds only the goal and the results page (so it repeats the first visit's state word for
 * word), at 1,024 it holds the item page just left in 99.6% of those states (measured on 300 trajectories).
 * Run at 2 passes (`--set stages.0.epochs=2`, 1,200 steps): test 1.0%, unseen train 3.0%, action accuracy 40.8%, the
 * copied product ids not closed yet; at 4 passes (`--set stages.0.epochs=4`, 2,400 steps): test 20.5%, unseen train
 * 11.0%, action accuracy 54.8%, ids closed, `< Prev` used, invalid actions in 143 of 200 episodes (docs/paper-table.md).
 */
const base = longSft("shop", 3)
export default define({
  ...base,
  name: "shop-explore-sft",
  method: "sft-explore",
  env: { name: "shop", expert: "explore" },
  model: { preset: "small", overrides: { contextLength: 1024 } }
})
