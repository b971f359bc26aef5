import { Console, Effect, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import { EnvError } from "../domain/EnvError.ts"
import * as TrajectoryArrow from "../data/TrajectoryArrow.ts"
import * as Expert from "../env/Expert.ts"
import * as Recovery from "../env/Recovery.ts"
import * as Registry from "../env/Registry.ts"
import * as EnvFlags from "./EnvFlags.ts"

/**
 * `stepagent data generate --env shop|house|qa --split train|test --n N --seed S --out <file.arrows> [--thoughts] [--recoveries R]`:
 * expert trajectories for tasks `<split>:0 .. <split>:N-1` of the world generated from seed S.
 * The output is a function of (env, split, n, seed, thoughts, recoveries) only: byte for byte reproducible.
 */
export const command = Command.make("generate", {
  env: EnvFlags.env,
  split: Flag.Literals("split", ["train", "test"]).pipe(Flag.withDescription("task split")),
  n: Flag.Int("n").pipe(Flag.withDescription("number of trajectories (tasks <split>:0 .. <split>:n-1)")),
  seed: EnvFlags.seed,
  out: Flag.String("out").pipe(Flag.withDescription("output .arrows file")),
  thoughts: Flag.Boolean("thoughts").pipe(Flag.withDescription("add short templated thoughts (Thought: ...\\nAction: ...)"), Flag.withDefault(false)),
  recoveries: Flag.Finite("recoveries").pipe(
    Flag.withDescription("insert an agent-like mistake before an expert action at this rate (0-1), flagged loss: false, so a policy learns to recover (src/env/Recovery.ts)"),
    Flag.withDefault(0)
  ),
  recoveryKinds: Flag.String("recovery-kinds").pipe(
    Flag.withDescription(`the kinds of mistake, comma-separated, of ${Recovery.kinds.join(", ")} (default ${Recovery.defaultKinds.join(",")}; early: a later expert action taken now)`),
    Flag.withDefault(Recovery.defaultKinds.join(","))
  )
}, ({ env, n, out, recoveries, recoveryKinds, seed, split, thoughts }) =>
  Effect.gen(function*() {
    const sim = Registry.make(env, seed)
    const size = sim.size(split)
    if (n < 1 || n > size) {
      return yield* new EnvError({ reason: "UnknownTask", env, message: `--n ${n}: the ${env} ${split} split has ${size} tasks (use 1..${size})` })
    }
    if (!(recoveries >= 0 && recoveries <= 1)) {
      return yield* new EnvError({ reason: "UnknownTask", env, message: `--recoveries ${recoveries}: a rate between 0 and 1` })
    }
    const named = recoveryKinds.split(",").map((k) => k.trim())
    const kinds = named.filter(Recovery.isKind)
    if (kinds.length !== named.length) {
      return yield* new EnvError({ reason: "UnknownTask", env, message: `--recovery-kinds ${recoveryKinds}: each of ${Recovery.kinds.join(", ")}` })
    }
    const t0 = performance.now()
    let failed = 0
    const written = yield* Stream.range(0, n - 1).pipe(
      Stream.map((i) => {
        const t = Expert.trajectory(sim, `${split}:${i}`, { thoughts, seed, recoveries, recoveryKinds: kinds })
        if (!t.success) failed++
        return t
      }),
      TrajectoryArrow.write(out)
    )
    const seconds = (performance.now() - t0) / 1000
    yield* Console.log(JSON.stringify({ env, split, seed, written, ...(recoveries > 0 ? { recoveries, recoveryKinds: kinds } : {}), expertFailures: failed, out, seconds: Number(seconds.toFixed(3)) }))
  })).pipe(Command.withDescription("Generate expert trajectories of a built-in environment"))
