import { Clock, Context, Effect, Layer } from "effect"
import cliProgress from "cli-progress"

/**
 * Progress of long work (sampling, training epochs, evaluation): a bar on a terminal, plain periodic
 * log lines on stderr otherwise (CI logs, pipes), nothing in tests.
 */
export interface Task {
  readonly advance: (n: number, status?: string) => Effect.Effect<void>
  /** Work inside a unit (a logged step): refreshes the status, and writes a plain line when one is due. */
  readonly note: (status: string) => Effect.Effect<void>
  readonly done: Effect.Effect<void>
}

export class Progress extends Context.Service<Progress, {
  readonly start: (label: string, total: number) => Effect.Effect<Task>
}>()("stepagent/Progress") {}

/** Plain lines are written about this often (also inside long units): often enough to see a run is alive, rare enough for a log. */
const lineEveryMs = 15_000

/** Plain lines on `write` (stderr in the CLI); time from the Clock service, so a TestClock drives it in tests. */
export const plain = (label: string, total: number, write: (line: string) => void = (line) => process.stderr.write(line)): Effect.Effect<Task> =>
  Effect.gen(function*() {
    let done = 0
    const t0 = yield* Clock.currentTimeMillis
    let last = t0
    const line = (status: string | undefined, force: boolean) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (force || now - last >= lineEveryMs) {
          last = now
          write(`${label}: ${done}/${total}${status === undefined ? "" : ` ${status}`} (${((now - t0) / 1000).toFixed(0)} s)\n`)
        }
      })
    return {
      advance: (n, status) =>
        Effect.suspend(() => {
          done += n
          return line(status, false)
        }),
      note: (status) => line(status, false),
      done: Effect.map(Clock.currentTimeMillis, (now) => write(`${label}: ${done}/${total} done in ${((now - t0) / 1000).toFixed(1)} s\n`))
    }
  })

const bar = (label: string, total: number): Task => {
  const b = new cliProgress.SingleBar(
    { format: `${label.padEnd(28)} [{bar}] {value}/{total} {status} eta {eta_formatted}`, hideCursor: true, clearOnComplete: false, stream: process.stderr },
    cliProgress.Presets.shades_classic
  )
  b.start(total, 0, { status: "" })
  return {
    advance: (n, status) => Effect.sync(() => b.increment(n, { status: status ?? "" })),
    note: (status) => Effect.sync(() => b.update({ status })),
    done: Effect.sync(() => b.stop())
  }
}

/** Bars when stderr is a terminal, else plain lines. */
export const layer: Layer.Layer<Progress> = Layer.succeed(Progress, {
  start: (label, total) => process.stderr.isTTY === true ? Effect.sync(() => bar(label, total)) : plain(label, total)
})

/** No output (tests). */
export const layerNone: Layer.Layer<Progress> = Layer.succeed(Progress, {
  start: () => Effect.succeed({ advance: () => Effect.void, note: () => Effect.void, done: Effect.void })
})
