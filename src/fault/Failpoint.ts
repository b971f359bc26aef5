import { Effect } from "effect"

/**
 * Failpoints: named places in the runner's life where a test can have the process killed, deterministically.
 * `STEPAGENT_FAILPOINT=<name>` (or `<name>@<n>`: the n-th time the point is reached, counted from 1) makes the
 * process send itself SIGKILL there: no finaliser runs, no buffer is flushed, exactly what `kill -9` or a power
 * cut leaves behind. Unset (always, outside fault tests), a point costs one comparison.
 *
 * Points (docs/run-directory.md, "Faults"):
 *   metrics               after a line is appended to metrics.jsonl (every stage logs: SFT, sampling, reward, PPO, eval)
 *   checkpoint.file       inside a checkpoint write: after the first file of the temporary directory is on disk
 *   checkpoint.rename     the temporary directory complete, not yet renamed into place
 *   checkpoint.replace    an existing checkpoint moved aside, the new one not yet renamed into place
 *   state.write           the unit's checkpoint in place, state.json not yet naming it
 *   state.prune           state.json written, older checkpoints not yet removed
 *   samples.write         samples/step-rewards.jsonl appended, the unit's checkpoint not yet written
 *   eval.episodes         eval/episodes.arrows written, eval/summary.json not yet
 *   report.figure         a figure of the report written, report.html not yet
 *   gradient.thread       a helper thread of the training passes given its work (`due`: the thread ends, not the process)
 *   wave.thread           a compute thread (a worker's, or a run's under training threads) given a unit (`due`: the thread ends)
 */
export const variable = "STEPAGENT_FAILPOINT"

const parse = (spec: string | undefined): { readonly name: string; readonly nth: number } | undefined => {
  if (spec === undefined || spec === "") return undefined
  const at = spec.lastIndexOf("@")
  if (at < 0) return { name: spec, nth: 1 }
  const nth = Number(spec.slice(at + 1))
  return { name: spec.slice(0, at), nth: Number.isInteger(nth) && nth >= 1 ? nth : 1 }
}

// Read once: the variable belongs to the process, like its signal handlers.
const armed = parse(process.env[variable])
let hits = 0

/** Reaches the point `name`: whether this is the armed point's n-th time (each thread counts its own). */
export const due = (name: string): boolean => {
  if (armed === undefined || armed.name !== name) return false
  hits++
  return hits === armed.nth
}

/** Reaches the point `name`: kills the process when it is the armed one (synchronous, for plain async code). */
export const reach = (name: string): void => {
  if (due(name)) process.kill(process.pid, "SIGKILL")
}

/** `reach` as an Effect. */
export const hit = (name: string): Effect.Effect<void> => Effect.sync(() => reach(name))
