import { experiment } from "/work/wt-exp4/pipelines/experiment.ts"

export default experiment("house", "stepagent-inverse", {"seed":1,"init":"/work/runs/wide/house-sft-2400-wide__1__20261207T034827Z/checkpoints/unit-0025"})
