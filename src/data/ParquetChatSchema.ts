/**
 * Chat records in Parquet: the schema `data export --format parquet` writes, and which columns of any
 * Parquet file `data import --format parquet` reads, checked against their types before a row is read
 * (docs/conversation-formats.md, *Parquet*).
 *
 * Written (ChatFormat.ChatRecord, column for field, in that order):
 *
 *   id       string                                                   required
 *   messages list<struct<role: string, content: string, weight: int32>>  required; weight null when unset
 *   reward   double                                                   required
 *   success  boolean                                                  required
 *   env      string                                                   required
 *   task_id  string                                                   required
 *
 * TRL and verl read `messages` (list<struct<role, content>>) and ignore the rest; `weight` (OpenAI's
 * per-message training flag) and `success` are there so that the round trip loses nothing.
 *
 * Read: the conversation from the first of `messages`, `conversations` (ShareGPT) or `prompt` (TRL's
 * prompt-completion shape: `completion` appended when present), a list of structs with a string role
 * (`role` or `from`) and string content (`content` or `value`); `id`, `reward`, `success`, `env` and
 * `task_id` when present. Other columns are not read.
 */
import type { SchemaTree } from "hyparquet"
// The writer's own (hyparquet-writer pins an older hyparquet, whose types differ by a logical type).
import type { SchemaElement } from "hyparquet-writer"

/** The conversation columns looked for, in this order: the first present is read. */
export const conversationColumns = ["messages", "conversations", "prompt"] as const

/** Appended to `prompt` (TRL's prompt-completion format). */
export const completionColumn = "completion"

/** The optional record columns, and what each may hold. */
const fieldKinds = { id: "id", reward: "number", success: "boolean", env: "string", task_id: "id" } as const
type FieldKind = (typeof fieldKinds)[keyof typeof fieldKinds]

export const fieldColumns = Object.keys(fieldKinds) as ReadonlyArray<keyof typeof fieldKinds>

/** What to read from a file, found by `plan`. */
export interface Plan {
  /** The column holding the conversation. */
  readonly conversation: string
  /** `completion`, appended to `prompt`, when the conversation is `prompt` and the file has it. */
  readonly completion?: string
  /** The record columns the file has, among `fieldColumns`. */
  readonly fields: ReadonlyArray<string>
  /** Every column to read. */
  readonly columns: ReadonlyArray<string>
  /**
   * Whether some value of these columns can decode to something other than a string, a number, a boolean
   * or null (an INT64's bigint, a timestamp's Date, bytes), so that rows need a look before they are records.
   */
  readonly rich: boolean
}

const utf8 = (name: string, repetition: "REQUIRED" | "OPTIONAL" = "REQUIRED"): SchemaElement => ({
  name,
  type: "BYTE_ARRAY",
  converted_type: "UTF8",
  logical_type: { type: "STRING" },
  repetition_type: repetition
})

/** The schema export writes (a flat list, depth first, as Parquet's footer holds it). */
export const schema: Array<SchemaElement> = [
  { name: "root", num_children: 6 },
  utf8("id"),
  { name: "messages", repetition_type: "REQUIRED", converted_type: "LIST", logical_type: { type: "LIST" }, num_children: 1 },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { name: "element", repetition_type: "REQUIRED", num_children: 3 },
  utf8("role"),
  utf8("content"),
  { name: "weight", type: "INT32", repetition_type: "OPTIONAL" },
  { name: "reward", type: "DOUBLE", repetition_type: "REQUIRED" },
  { name: "success", type: "BOOLEAN", repetition_type: "REQUIRED" },
  utf8("env"),
  utf8("task_id")
]

/** A node's type in words, for reasons: `INT32`, `string`, `a list`, `a struct`. */
const describe = (node: SchemaTree): string => {
  const e = node.element
  if (isList(node)) return "a list"
  if (e.type === undefined) return e.converted_type === "MAP" || e.logical_type?.type === "MAP" ? "a map" : "a struct"
  if (isString(node)) return "string"
  const annotation = e.logical_type?.type ?? e.converted_type
  return annotation === undefined ? e.type : `${e.type} (${annotation})`
}

const isList = (node: SchemaTree): boolean =>
  node.element.converted_type === "LIST" || node.element.logical_type?.type === "LIST" || node.element.repetition_type === "REPEATED"

/** A byte-array column read as text: UTF8/STRING annotated, or plain BYTE_ARRAY (hyparquet reads it as UTF-8 too). */
const isString = (node: SchemaTree): boolean => {
  const e = node.element
  if (e.type !== "BYTE_ARRAY" || node.children.length > 0) return false
  const annotation = e.logical_type?.type ?? e.converted_type
  return annotation === undefined || annotation === "UTF8" || annotation === "STRING" || annotation === "ENUM"
}

const isInteger = (node: SchemaTree): boolean => {
  const e = node.element
  if ((e.type !== "INT32" && e.type !== "INT64") || node.children.length > 0) return false
  const annotation = e.logical_type?.type ?? e.converted_type
  return annotation === undefined || annotation === "INTEGER" || /^U?INT_/.test(annotation)
}

const isNumber = (node: SchemaTree): boolean => {
  const e = node.element
  if (node.children.length > 0) return false
  if (e.type === "FLOAT" || e.type === "DOUBLE") return true
  return isInteger(node) || e.converted_type === "DECIMAL" || e.logical_type?.type === "DECIMAL"
}

const fits = (node: SchemaTree, kind: FieldKind): boolean =>
  node.element.repetition_type !== "REPEATED" &&
  (kind === "string" ? isString(node) : kind === "id" ? isString(node) || isInteger(node) : kind === "number" ? isNumber(node) : node.element.type === "BOOLEAN")

const kindWords: Record<FieldKind, string> = { id: "a string or an integer", string: "a string", number: "a number", boolean: "a boolean" }

/** Whether every leaf under `node` decodes (in hyparquet) to a string, a number, a boolean or null. */
const allPlain = (node: SchemaTree): boolean => {
  if (node.children.length > 0) return node.children.every(allPlain)
  const e = node.element
  const annotation = e.logical_type?.type ?? e.converted_type
  if (e.type === "BYTE_ARRAY") return annotation === undefined || annotation === "UTF8" || annotation === "STRING" || annotation === "ENUM"
  if (e.type === "BOOLEAN" || e.type === "FLOAT" || e.type === "DOUBLE") return true
  return e.type === "INT32" && (annotation === undefined || annotation === "INTEGER" || /^U?INT_/.test(annotation) || annotation === "DECIMAL")
}

/**
 * The struct each list element is, as hyparquet assembles it: a LIST-annotated group holds a repeated
 * group which, in the standard three-level layout, holds the element; in the legacy two-level layout
 * (`repeated group array { ... }`) the repeated group is the element.
 */
const listElement = (node: SchemaTree): SchemaTree | undefined => {
  if (node.element.repetition_type === "REPEATED") return node // an unannotated repeated group: itself the element
  const repeated = node.children.length === 1 ? node.children[0]! : undefined
  if (repeated === undefined || repeated.element.repetition_type !== "REPEATED") return undefined
  const legacy = repeated.element.type !== undefined || repeated.children.length !== 1 || repeated.element.name === "array" ||
    repeated.element.name === `${node.element.name}_tuple`
  return legacy ? repeated : repeated.children[0]
}

/** Why `node` cannot hold conversations: a list of structs with a string role (or from) and content (or value). */
const conversationProblem = (node: SchemaTree): string | undefined => {
  const name = node.element.name
  const want = "a list of messages (structs with string role and content)"
  if (!isList(node)) return `column ${name} is ${describe(node)}, not ${want}${isString(node) ? " (JSON text in a string column is not read)" : ""}`
  const element = listElement(node)
  if (element === undefined) return `column ${name} is a list whose layout is not understood, not ${want}`
  if (element.element.type !== undefined || element.children.length === 0) return `column ${name} is a list of ${describe(element)}, not ${want}`
  const child = (key: string) => element.children.find((c) => c.element.name === key)
  for (const [key, other] of [["role", "from"], ["content", "value"]] as const) {
    const found = [child(key), child(other)].filter((c) => c !== undefined)
    if (found.length === 0) return `column ${name}: its messages have no ${key} (or ${other}) field`
    for (const c of found) {
      if (!isString(c)) {
        const parts = key === "content" && isList(c) ? " (a list of content parts is not supported)" : ""
        return `column ${name}: the ${c.element.name} of its messages is ${describe(c)}, not a string${parts}`
      }
    }
  }
  return undefined
}

/**
 * What to read from a file of this schema, or the one-line problem (without the file name): no
 * conversation column, a conversation column that is not a list of messages, a record column of the
 * wrong type.
 */
export const plan = (root: SchemaTree): { readonly plan: Plan } | { readonly problem: string } => {
  const column = (name: string) => root.children.find((c) => c.element.name === name)
  const conversation = conversationColumns.find((name) => column(name) !== undefined)
  if (conversation === undefined) {
    const names = root.children.map((c) => c.element.name)
    const shown = names.length > 12 ? `${names.slice(0, 12).join(", ")}, ...` : names.join(", ")
    return { problem: `no conversation column (looked for ${conversationColumns.join(", ")}); its columns: ${shown === "" ? "none" : shown}` }
  }
  const conversationProblemText = conversationProblem(column(conversation)!)
  if (conversationProblemText !== undefined) return { problem: conversationProblemText }
  let completion: string | undefined
  if (conversation === "prompt" && column(completionColumn) !== undefined) {
    const problem = conversationProblem(column(completionColumn)!)
    if (problem !== undefined) return { problem }
    completion = completionColumn
  }
  const fields: Array<string> = []
  for (const name of fieldColumns) {
    const node = column(name)
    if (node === undefined) continue
    if (!fits(node, fieldKinds[name])) return { problem: `column ${name} is ${describe(node)}, not ${kindWords[fieldKinds[name]]}` }
    fields.push(name)
  }
  const columns = [conversation, ...(completion === undefined ? [] : [completion]), ...fields]
  // id and task_id integers are turned into text on their own; every other leaf must be plain.
  const rich = columns.some((name) => (name === "id" || name === "task_id" ? false : !allPlain(column(name)!)))
  return { plan: { conversation, ...(completion === undefined ? {} : { completion }), fields, columns, rich } }
}
