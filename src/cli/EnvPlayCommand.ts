import * as Readline from "node:readline"
import { Console, Effect, Stream } from "effect"
import { Command } from "effect/cli"
import { checkTask } from "../env/Builtin.ts"
import * as Registry from "../env/Registry.ts"
import * as EnvFlags from "./EnvFlags.ts"

/** Lines of standard input as a stream (works with a terminal and with piped input); stdin is opened only when pulled. */
const stdinLines = Stream.suspend(() =>
  Stream.fromAsyncIterable(Readline.createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity }), (e) => e)
)

/**
 * `stepagent env play --env E --task <id>`: plays a task from the terminal. One action per line on standard
 * input; the observation, reward and done flag on standard output. Ends when the episode is done or input ends.
 */
export const command = Command.make("play", { env: EnvFlags.env, task: EnvFlags.task, seed: EnvFlags.seed }, ({ env, seed, task }) =>
  Effect.gen(function*() {
    const sim = Registry.make(env, seed)
    const bad = checkTask(sim, task)
    if (bad !== undefined) return yield* bad
    const run = sim.start(task)
    yield* Console.log(`${run.episode.instruction}\n\n${run.episode.observation}`)
    let steps = 0
    let done = false
    yield* stdinLines.pipe(
      Stream.takeWhile(() => !done),
      Stream.runForEach((line) =>
        Effect.gen(function*() {
          const action = line.trim()
          if (action === "") return
          const r = run.step(action)
          steps++
          done = r.done || steps >= run.episode.maxSteps
          yield* Console.log(`> ${action}\n${r.observation}\n[reward ${r.reward} done ${r.done} step ${steps}/${run.episode.maxSteps}]`)
        })
      ),
      Effect.orDie
    )
    if (!done) yield* Console.log("[input ended before the episode did]")
  })).pipe(Command.withDescription("Play a task from the terminal: one action per line on standard input"))
