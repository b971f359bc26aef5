import { Schema } from "effect"

/** Tasks are addressed as `<split>:<index>` (`train:0`, `test:17`). */
export const Split = Schema.Literals(["train", "test"])
export type Split = typeof Split.Type

export interface TaskRef {
  readonly split: Split
  readonly index: number
}

const pattern = /^(train|test):(0|[1-9][0-9]*)$/

/** Parses `train:12`; undefined when the text is not a task id. */
export const parse = (text: string): TaskRef | undefined => {
  const m = pattern.exec(text)
  if (m === null) return undefined
  const index = Number(m[2])
  return Number.isSafeInteger(index) ? { split: m[1] as Split, index } : undefined
}

export const format = (ref: TaskRef): string => `${ref.split}:${ref.index}`
