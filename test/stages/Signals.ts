import type { Split } from "../../src/domain/TaskId.ts"
import * as TaskId from "../../src/domain/TaskId.ts"
import type { StepResult } from "../../src/env/Env.ts"
import type { SimEpisode, Simulator } from "../../src/env/Simulator.ts"

/**
 * A tiny built-in-style environment for the behaviour tests, small enough that the `tiny` model learns
 * it in seconds: the agent sees a signal word and must press the key the signal maps to (a fixed
 * permutation of 8 keys). A task shows one seeded signal 3-5 times; every press gets "Correct." or
 * "Wrong." and the signal again, and the episode ends after the last one with reward = share of
 * correct presses. The expert always presses the right key; a random policy (uniform over the valid
 * actions) scores 1/8 on average.
 */
export const words = ["amber", "blue", "coral", "dune", "ember", "frost", "gold", "haze"] as const
const keyOf = [3, 7, 1, 6, 0, 4, 2, 5] as const

export const instruction = "Press the key of each signal. Actions: press <key>."

/** A task's signals: one word, shown 3-5 times (so the one word in view decides every action). */
const signals = (taskId: string): Array<number> => {
  const ref = TaskId.parse(taskId)!
  let h = (ref.index + 1) * 2654435761 + (ref.split === "test" ? 97 : 13)
  const next = (): number => {
    h = (Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0
    return h
  }
  const n = 3 + (next() % 3)
  const word = next() % words.length
  return Array.from({ length: n }, () => word)
}

export const expertAction = (word: number): string => `press ${keyOf[word]}`

export const make = (sizes: { readonly train: number; readonly test: number } = { train: 200, test: 50 }): Simulator => ({
  name: "signals",
  instruction,
  size: (split: Split) => sizes[split],
  start: (taskId: string): SimEpisode => {
    const seq = signals(taskId)
    let at = 0
    let correct = 0
    return {
      episode: { taskId, instruction, observation: `signal ${words[seq[0]!]}`, maxSteps: seq.length },
      step: (action: string): StepResult => {
        if (at >= seq.length) return { observation: "The episode is over.", reward: 0, done: true }
        const ok = action.trim() === expertAction(seq[at]!)
        if (ok) correct++
        at++
        const verdict = ok ? "Correct." : "Wrong."
        return at >= seq.length
          ? { observation: `${verdict} Done.`, reward: correct / seq.length, done: true }
          : { observation: `${verdict} signal ${words[seq[at]!]}`, reward: 0, done: false }
      },
      validActions: () => keyOf.map((_, k) => `press ${k}`)
    }
  },
  expert: (taskId: string) => signals(taskId).map(expertAction)
})
