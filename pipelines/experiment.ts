import { define, type Input } from "../src/pipeline/Pipeline.ts"

/**
 * The experiments of the paper's comparison, one builder for every (environment, method) pair so that
 * every method gets the same budget: the same SFT warm start (the "novice"), then the same number of
 * iterations over the same number of expert trajectories (or, for outcome PPO, of environment episodes),
 * the same policy learning rate, and the same evaluation on held-out test tasks.
 */
export const envs = ["shop", "house", "qa"] as const
export type Env = typeof envs[number]

export const methods = ["sft", "outcome-ppo", "step-dpo", "stepagent-implicit", "stepagent-inverse"] as const
export type Method = typeof methods[number]

/** The shared budget, each with its reason. */
export const budget = {
  preset: "small" as const, // ~1M parameters: minutes per run on 2 cpu cores
  // expert trajectories for SFT: a whole table (15 runs) must fit in about an hour on 2 cores, and a shop or house
  // trajectory is ~3x a qa one in tokens (one SFT epoch over 1000 shop trajectories takes ~3 min here)
  // house is last in the table run and gets half of shop's data and rounds, to fit the session's time
  trajectories: { shop: 400, house: 200, qa: 1000 },
  sftEpochs: 4, // 3 epochs teach the action formats but barely the copying of entity names (3% success on qa test)
  iterations: 4, // improvement rounds after SFT, for every method
  perIteration: { shop: 32, house: 16, qa: 32 }, // expert trajectories (or episodes) per round
  policyLearningRate: 1e-4, // one rate for every method's policy updates (PPO, step DPO): a small model from scratch needs more than TRL's 1e-5
  evalEpisodes: 100 // held-out test tasks: a success rate within about +-10 points (95%); 200 would double the evaluation time
}

type Stage = Input["stages"][number]

const improvement = (env: Env, method: Method): ReadonlyArray<Stage> => {
  const perIteration = budget.perIteration[env]
  const lr = budget.policyLearningRate
  const ppo = { learningRate: lr, batchSize: 64, minibatchSize: 16, epochs: 2 }
  switch (method) {
    case "sft":
      return []
    case "outcome-ppo":
      return [{ stage: "outcomePpo", iterations: budget.iterations, episodesPerIteration: perIteration, ppo }]
    case "step-dpo":
      return [{ stage: "stepDpo", iterations: budget.iterations, trajectoriesPerIteration: perIteration, learningRate: lr }]
    case "stepagent-implicit":
      return [{ stage: "stepagent", reward: "implicit", iterations: budget.iterations, trajectoriesPerIteration: perIteration, ppo }]
    case "stepagent-inverse":
      return [{ stage: "stepagent", reward: "inverse", iterations: budget.iterations, trajectoriesPerIteration: perIteration, ppo }]
  }
}

/**
 * The pipeline of one method on one environment. With `init` (a checkpoint of the SFT run), the SFT stage is
 * skipped and the method starts from that warm start: how paper-table.ts shares one SFT per environment.
 */
export const experiment = (env: Env, method: Method, options: { readonly init?: string; readonly seed?: number } = {}): Input =>
  define({
    name: `${env}-${method}`,
    method,
    seed: options.seed ?? 1,
    env: { name: env },
    data: { train: [`data/${env}-train.arrows`], limit: budget.trajectories[env] },
    tokenizer: { vocab: 1024 },
    model: { preset: budget.preset },
    ...(options.init === undefined ? {} : { init: { checkpoint: options.init } }),
    stages: [
      ...(options.init === undefined ? [{ stage: "sft" as const, epochs: budget.sftEpochs }] : []),
      ...improvement(env, method),
      { stage: "evaluate", n: budget.evalEpisodes }
    ]
  })
