import { Context, Effect, Layer } from "effect"
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

const plain = (label: string, total: number): Task => {
  let done = 0
  let last = Date.now()
  const t0 = last
  const write = (status: string | undefined, force: boolean) => {
    const now = Date.now()
    if (force || now - last >= lineEveryMs) {
      last = now
      process.stderr.write(`${label}: ${done}/${total}${status === undefined ? "" : ` ${status}`} (${((now - t0) / 1000).toFixed(0)} s)\n`)
    }
  }
  return {
    advance: (n, status) =>
      Effect.sync(() => {
        done += n
        write(status, false)
      }),
    note: (status) => Effect.sync(() => write(status, false)),
    done: Effect.sync(() => {
      process.stderr.write(`${label}: ${done}/${total} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
    })
  }
}

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
  start: (label, total) => Effect.sync(() => (process.stderr.isTTY === true ? bar(label, total) : plain(label, total)))
})

/** No output (tests). */
export const layerNone: Layer.Layer<Progress> = Layer.succeed(Progress, {
  start: () => Effect.succeed({ advance: () => Effect.void, note: () => Effect.void, done: Effect.void })
})
