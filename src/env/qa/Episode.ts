import type { StepResult } from "../Env.ts"
import type { SimEpisode } from "../Simulator.ts"
import * as Action from "./Action.ts"
import * as Answer from "./Answer.ts"
import type * as Question from "./Question.ts"
import type * as Wiki from "./Wiki.ts"

/**
 * One qa episode: ReAct's WikiEnv over the generated wiki. State: the current page, the current
 * lookup keyword with its matching sentences and a cursor, the step count, and the final result once
 * done (later steps repeat it and count nothing).
 */

/** Python's repr of a list of strings, as WikiEnv prints the similar titles: ['A', 'B']. */
const pyList = (xs: ReadonlyArray<string>): string =>
  `[${xs.map((x) => (x.includes("'") && !x.includes('"') ? `"${x}"` : `'${x.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`)).join(", ")}]`

/** "1", "0.5", "0.6666666666666666": the reward as WikiEnv's f-string prints it. */
const showReward = (r: number): string => String(r)

export interface Options {
  readonly taskId: string
  readonly instruction: string
  readonly maxSteps: number
}

export const start = (wiki: Wiki.Wiki, question: Question.Question, options: Options): SimEpisode => {
  let page: Wiki.Page | undefined
  let keyword: string | undefined
  let results: ReadonlyArray<string> = []
  let cursor = 0
  let steps = 0
  let final: StepResult | undefined

  const search = (entity: string): string => {
    const found = wiki.find(entity)
    if (found === undefined) return `Could not find ${entity}. Similar: ${pyList(wiki.similar(entity))}.`
    page = found
    keyword = undefined
    results = []
    cursor = 0
    return found.summary
  }

  const lookup = (word: string): string => {
    if (keyword !== word) {
      keyword = word
      const needle = word.toLowerCase()
      results = page === undefined ? [] : page.sentences.filter((s) => s.toLowerCase().includes(needle))
      cursor = 0
    }
    if (cursor >= results.length) return "No more results."
    cursor++
    return `(Result ${cursor} / ${results.length}) ${results[cursor - 1]}`
  }

  const step = (raw: string): StepResult => {
    if (final !== undefined) return final
    const action = Action.parse(raw)
    steps++
    if (action.kind === "finish") {
      const reward = Answer.f1(action.argument, question.answer)
      final = { observation: `Episode finished, reward = ${showReward(reward)}`, reward, done: true }
      return final
    }
    const observation = action.kind === "invalid"
      ? `Invalid action: ${action.text}`
      : action.kind === "search"
      ? search(action.argument)
      : action.kind === "lookup"
      ? lookup(action.argument)
      : "Nice thought."
    if (steps >= options.maxSteps) {
      final = { observation, reward: 0, done: true }
      return final
    }
    return { observation, reward: 0, done: false }
  }

  return {
    episode: { taskId: options.taskId, instruction: options.instruction, observation: `Question: ${question.text}`, maxSteps: options.maxSteps },
    step,
    validActions: () => undefined
  }
}
