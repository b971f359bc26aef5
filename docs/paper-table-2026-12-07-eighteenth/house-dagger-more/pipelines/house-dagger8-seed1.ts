import { houseDaggerMore } from "/work/wt-exp/pipelines/experiment.ts"

export default houseDaggerMore("/work/runs/dagger/house-dagger__1__20261206T234659Z/checkpoints/unit-0005", 1)
