import { houseDaggerMore } from "/work/wt-exp/pipelines/experiment.ts"

export default houseDaggerMore("/work/runs/dagger/house-dagger__2__20261207T004612Z/checkpoints/unit-0005", 2)
