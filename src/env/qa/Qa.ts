import type { Split } from "../../domain/TaskId.ts"
import * as TaskId from "../../domain/TaskId.ts"
import type { Simulator } from "../Simulator.ts"
import * as QaEpisode from "./Episode.ts"
import * as Question from "./Question.ts"
import * as Wiki from "./Wiki.ts"
import * as World from "./World.ts"

/**
 * The built-in **qa** environment: HotpotQA-style multi-hop questions over a generated fictional
 * wiki, answered with ReAct's tools `search[entity]`, `lookup[keyword]` and `finish[answer]`.
 * The train and test splits live in different worlds (different sub-seeds, disjoint names), so a
 * policy cannot memorise answers: it has to use the tools. See docs/env-qa.md.
 */

/** ReAct's HotpotQA instruction, word for word (without its few-shot examples), so that a policy trained here meets the prompt it will see on real HotpotQA. */
export const instruction = `Solve a question answering task with interleaving Thought, Action, Observation steps. Thought can reason about the current situation, and Action can be three types: 
(1) Search[entity], which searches the exact entity on Wikipedia and returns the first paragraph if it exists. If not, it will return some similar entities to search.
(2) Lookup[keyword], which returns the next sentence containing keyword in the current passage.
(3) Finish[answer], which returns the answer and finishes the task.
`

/** ReAct lets the model act 7 times, then forces `finish[]`: 8 actions in all. The expert needs at most 6. */
export const maxSteps = 8

/** Questions per split: train large enough for behaviour cloning, test the 500 questions ReAct evaluates on. */
export const sizes: Record<Split, number> = { train: 5000, test: 500 }

/** Entities per world: the train world has room for 5,000 distinct questions; the test world is smaller, and new. */
export const worldSizes: Record<Split, World.Sizes> = {
  train: { countries: 14, cities: 140, people: 700, organisations: 160, works: 480 },
  test: { countries: 8, cities: 60, people: 240, organisations: 60, works: 180 }
}

/** A split's world, wiki and questions: built on first use, once per simulator. */
export interface Built {
  readonly world: World.World
  readonly wiki: Wiki.Wiki
  readonly questions: ReadonlyArray<Question.Question>
}

export const build = (seed: number, split: Split): Built => {
  const world = World.generate(seed, split, worldSizes[split])
  const wiki = Wiki.build(world, seed)
  return { world, wiki, questions: Question.generate(world, wiki, seed, sizes[split], maxSteps) }
}

// Seed 0: a fixed default world, so that runs without a seed are reproducible.
export const make = (options?: { readonly seed?: number }): Simulator & { readonly built: (split: Split) => Built } => {
  const seed = options?.seed ?? 0
  const cache = new Map<Split, Built>()
  const built = (split: Split): Built => {
    let b = cache.get(split)
    if (b === undefined) {
      b = build(seed, split)
      cache.set(split, b)
    }
    return b
  }
  const question = (taskId: string): Question.Question => {
    const ref = TaskId.parse(taskId)
    const q = ref === undefined ? undefined : built(ref.split).questions[ref.index]
    if (q === undefined) throw new Error(`qa: unknown task ${taskId}`)
    return q
  }
  return {
    name: "qa",
    instruction,
    size: (split) => sizes[split],
    start: (taskId) => {
      const q = question(taskId)
      const ref = TaskId.parse(taskId)!
      return QaEpisode.start(built(ref.split).wiki, q, { taskId, instruction, maxSteps })
    },
    expert: (taskId) => question(taskId).actions,
    expertThoughts: (taskId) => question(taskId).thoughts,
    built
  }
}
