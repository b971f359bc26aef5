import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import * as Backend from "../model/backend/Backend.ts"
import * as BackendOptions from "../model/backend/BackendOptions.ts"
import * as TfjsInit from "../model/backend/TfjsInit.ts"

/** The flags that choose the tensor backend; commands that compute with tensors take them too (`flags`, `options`). */
export const backend = Flag.Literals("backend", BackendOptions.backendChoices).pipe(
  Flag.withDescription("tensor backend: auto|tensorflow-gpu|tensorflow|wasm|cpu (default: STEPAGENT_BACKEND, else auto)"),
  Flag.optional
)

export const threads = Flag.Int("threads").pipe(
  Flag.withDescription("threads for the tensor backend (default: STEPAGENT_THREADS, else every core)"),
  Flag.optional
)

export const matmul = Flag.Literals("matmul", BackendOptions.matmulChoices).pipe(
  Flag.withDescription("wasm matmul path: auto|openblas|xnnpack|stock (default: STEPAGENT_MATMUL, else auto)"),
  Flag.optional
)

export const trainThreads = Flag.Int("train-threads").pipe(
  Flag.withDescription("threads that share each training step's passes (SFT, PPO, DPO) and run evaluation waves, each with its own one-thread wasm backend, the learner's included (default: STEPAGENT_TRAIN_THREADS, else every core on wasm when --threads is not given, else 1); the same numbers at any count"),
  Flag.optional
)

export const evalThreads = Flag.Int("eval-threads").pipe(
  Flag.withDescription("threads that run the evaluation's waves of episodes, each with its own one-thread wasm backend (default: every core on wasm when --threads is not given, else 1); the same episodes at any count"),
  Flag.optional
)

export const flags = { backend, threads, matmul }

/** The backend request the flags make (unset flags fall back to the STEPAGENT_* variables, then defaults). */
export const options = (values: {
  readonly backend: Option.Option<BackendOptions.BackendChoice>
  readonly threads: Option.Option<number>
  readonly matmul: Option.Option<BackendOptions.MatmulChoice>
}): BackendOptions.Options => ({
  backend: Option.getOrUndefined(values.backend),
  threads: Option.getOrUndefined(values.threads),
  matmul: Option.getOrUndefined(values.matmul)
})

/**
 * `stepagent backend [--json]`: the backends available on this machine, the one `auto` picks, and the backend
 * the flags start (its matmul path and threads). `--json` prints
 * `{"available":[...],"auto":"<name>","backend":"<name>","matmul":"...","threads":{...},"notices":[...]}`.
 */
export const command = Command.make(
  "backend",
  { ...flags, json: Flag.Boolean("json").pipe(Flag.withDescription("print one JSON object"), Flag.withDefault(false)) },
  (values) =>
    Effect.gen(function*() {
      const request = options(values)
      const settled = BackendOptions.resolve(request, process.env)
      const available = yield* TfjsInit.available("threads" in settled ? settled.threads : BackendOptions.defaultThreads())
      const info = yield* TfjsInit.initialise(request)
      const report = {
        available,
        auto: available[0] ?? "cpu",
        backend: info.name,
        matmul: info.matmul,
        threads: info.threads,
        notices: info.notices
      }
      if (values.json) return yield* Console.log(JSON.stringify(report))
      yield* Console.log(`available: ${available.join(", ")}`)
      yield* Console.log(`auto picks: ${report.auto}`)
      yield* Console.log(`started: ${Backend.describe(info)}`)
      for (const notice of info.notices) yield* Console.log(`notice: ${notice}`)
    })
).pipe(Command.withDescription("Show the tensor backends available here, the one auto picks, and its matmul path and threads"))
