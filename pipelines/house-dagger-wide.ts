import { houseDagger, wideSft } from "./experiment.ts"

/**
 * house-dagger.ts's design (four DAgger rounds, 512 steps) after house-sft-2400-wide.ts's behaviour cloning at dModel 192
 * (its own rows in `stepagent table`: dagger-wide). From a finished wide SFT run, write a pipeline with
 * `houseDagger("dagger", "<run>/checkpoints/LATEST", seed, wideSft("house"))` and the same name and method, as
 * docs/paper-table.md's runs do. pipelines/house-dagger-wide-control.ts spends the same steps on expert data only.
 */
export default { ...houseDagger("dagger", undefined, 1, wideSft("house")), name: "house-dagger-wide", method: "dagger-wide" }
