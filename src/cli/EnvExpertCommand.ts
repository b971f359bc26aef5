import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { checkTask } from "../env/Builtin.ts"
import * as Registry from "../env/Registry.ts"
import * as EnvFlags from "./EnvFlags.ts"

/** `stepagent env expert --env E --task <id>`: the expert's actions for one task as a JSON array. */
export const command = Command.make("expert", { env: EnvFlags.env, task: EnvFlags.task, seed: EnvFlags.seed }, ({ env, seed, task }) =>
  Effect.gen(function*() {
    const sim = Registry.make(env, seed)
    const bad = checkTask(sim, task)
    if (bad !== undefined) return yield* bad
    yield* Console.log(JSON.stringify(sim.expert(task)))
  })).pipe(Command.withDescription("Print the expert's actions for one task as a JSON array"))
