import { Effect, Layer } from "effect"
import { EnvError } from "../domain/EnvError.ts"
import * as TaskId from "../domain/TaskId.ts"
import { Env, type EnvSession } from "./Env.ts"
import type { SimEpisode, Simulator } from "./Simulator.ts"

/** Checks `<split>:<index>` against the simulator's split sizes. */
export const checkTask = (sim: Simulator, taskId: string): EnvError | undefined => {
  const ref = TaskId.parse(taskId)
  if (ref === undefined) {
    return new EnvError({ reason: "UnknownTask", env: sim.name, message: `task id "${taskId}" is not <train|test>:<index>` })
  }
  const n = sim.size(ref.split)
  if (ref.index >= n) {
    return new EnvError({ reason: "UnknownTask", env: sim.name, message: `task ${taskId} is out of range: the ${ref.split} split has ${n} tasks` })
  }
  return undefined
}

/** One session over a simulator: holds the current episode between calls. */
export const session = (sim: Simulator): EnvSession => {
  let current: SimEpisode | undefined
  const notReset = new EnvError({ reason: "NotReset", env: sim.name, message: "step() before reset()" })
  return {
    reset: (taskId) =>
      Effect.suspend(() => {
        const bad = checkTask(sim, taskId)
        if (bad !== undefined) return Effect.fail(bad)
        current = sim.start(taskId)
        return Effect.succeed(current.episode)
      }),
    step: (action) => Effect.suspend(() => current === undefined ? Effect.fail(notReset) : Effect.succeed(current.step(action))),
    validActions: Effect.suspend(() => current === undefined ? Effect.fail(notReset) : Effect.succeed(current.validActions())),
    close: Effect.sync(() => {
      current = undefined
    })
  }
}

/** The `Env` service over a built-in simulator. */
export const layer = (sim: Simulator): Layer.Layer<Env> =>
  Layer.succeed(Env, {
    name: sim.name,
    size: (split) => sim.size(split),
    open: Effect.sync(() => session(sim))
  })
