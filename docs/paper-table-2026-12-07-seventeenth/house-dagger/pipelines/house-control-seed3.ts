import { houseDagger } from "/work/wt-exp/pipelines/experiment.ts"

export default houseDagger("control", "/work/runs/house2400/house-sft-2400__1__20261206T204223Z/checkpoints/unit-0009", 3)
