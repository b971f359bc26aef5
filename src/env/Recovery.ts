import type { Rng } from "../random/Rng.ts"
import type { Simulator } from "./Simulator.ts"

/**
 * Expert data with recoveries. Behaviour cloning on an expert that never errs leaves the policy without one
 * training state that follows a mistake, so its first error puts it where it has never been and errors compound
 * (covariate shift, the reason for DAgger). Measured on house (docs/paper-table.md): 198 of 200 held-out episodes
 * met "Nothing happens." by their second action and then degraded. Here, before an expert action and with
 * probability `rate`, a mistake of the kind agents make is inserted (the previous action repeated, or the expert's
 * action garbled: a word dropped or replaced by a word of the observation); the environment answers it, and the
 * expert continues. A mistake is kept only when it changes nothing the continuation sees (after every later expert
 * action the observation equals the plain replay's, and the episode ends as it did), so what follows it is still
 * the expert's. Its turn is flagged `loss: false`: context for the states after it, never a target.
 */
export interface Planned {
  readonly action: string
  readonly mistake: boolean
}

/** What a replay of `actions` from a fresh episode saw: the observation after each action, the end. */
interface Replay {
  readonly observations: ReadonlyArray<string>
  readonly reward: number
  readonly doneAt: number // index of the action that ended the episode, -1 when none did
}

const replay = (sim: Simulator, taskId: string, actions: ReadonlyArray<string>): Replay => {
  const run = sim.start(taskId)
  const observations: Array<string> = []
  let reward = 0
  let doneAt = -1
  for (let i = 0; i < actions.length && doneAt < 0; i++) {
    const r = run.step(actions[i]!)
    observations.push(r.observation)
    reward = r.reward
    if (r.done) doneAt = i
  }
  return { observations, reward, doneAt }
}

const words = (text: string): Array<string> => text.split(/\s+/).filter((w) => w.length > 0)

/**
 * The kinds of mistake: `repeat` the previous action again (the failure measured on house); `drop` a word of the
 * expert's action dropped; `replace` a word of it replaced by one of the observation's; `early` a later expert action
 * of the episode taken now (acting on an object or place before reaching it: house's `take bread 1 from countertop 1`
 * where the countertop holds no bread). `defaultKinds` are the first three, in the order their draws were made
 * before `early` existed, so data generated without `kinds` is byte for byte what it was.
 */
export const kinds = ["repeat", "drop", "replace", "early"] as const
export type Kind = typeof kinds[number]
export const defaultKinds: ReadonlyArray<Kind> = ["repeat", "drop", "replace"]
export const isKind = (k: string): k is Kind => (kinds as ReadonlyArray<string>).includes(k)

/** One mistake of a kind drawn from `allowed` before `action`, or undefined when the drawn kind does not apply. */
const mistake = (
  rng: Rng,
  allowed: ReadonlyArray<Kind>,
  previous: string | undefined,
  action: string,
  later: ReadonlyArray<string>,
  observation: string
): string | undefined => {
  const ws = words(action)
  switch (allowed[rng.int(allowed.length)]!) {
    case "repeat":
      return previous
    case "drop": {
      if (ws.length < 2) return undefined
      const k = rng.int(ws.length)
      return ws.filter((_, i) => i !== k).join(" ")
    }
    case "replace": {
      const pool = words(observation)
      if (pool.length === 0 || ws.length === 0) return undefined
      const k = rng.int(ws.length)
      return ws.map((w, i) => (i === k ? rng.pick(pool) : w)).join(" ")
    }
    case "early":
      return later.length === 0 ? undefined : rng.pick(later)
  }
}

/**
 * The expert's actions with mistakes inserted at `rate` per expert action (at most one before each), each kept
 * only when the continuation replays unchanged (above).
 */
export const plan = (
  sim: Simulator,
  taskId: string,
  expert: ReadonlyArray<string>,
  rate: number,
  rng: Rng,
  allowed: ReadonlyArray<Kind> = defaultKinds
): ReadonlyArray<Planned> => {
  const plain = replay(sim, taskId, expert)
  const out: Array<Planned> = []
  let observation = sim.start(taskId).episode.observation // what the agent sees before the next action
  for (let i = 0; i < expert.length; i++) {
    const action = expert[i]!
    if (rng.chance(rate)) {
      const wrong = mistake(rng, allowed, out[out.length - 1]?.action, action, expert.slice(i + 1), observation)
      if (wrong !== undefined && wrong.trim() !== action.trim() && wrong.trim() !== "") {
        const head = [...out.map((p) => p.action), wrong]
        const r = replay(sim, taskId, [...head, ...expert.slice(i)])
        const unchanged = r.doneAt === (plain.doneAt < 0 ? -1 : plain.doneAt + head.length - i) && r.reward === plain.reward &&
          expert.slice(i).every((_, j) => r.observations[head.length + j] === plain.observations[i + j])
        if (unchanged) {
          out.push({ action: wrong, mistake: true })
          observation = r.observations[head.length - 1]!
        }
      }
    }
    out.push({ action, mistake: false })
    observation = plain.observations[i] ?? observation
  }
  return out
}
