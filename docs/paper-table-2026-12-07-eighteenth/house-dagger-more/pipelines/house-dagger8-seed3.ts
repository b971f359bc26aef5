import { houseDaggerMore } from "/work/wt-exp/pipelines/experiment.ts"

export default houseDaggerMore("/work/runs/dagger/house-dagger__3__20261207T013013Z/checkpoints/unit-0005", 3)
