import { shopDagger } from "./experiment.ts"

/** pipelines/shop-dagger.ts's control: the same warm start, then its 512 optimizer steps as plain SFT on expert data. */
export default shopDagger("control")
