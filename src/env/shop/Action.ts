/** A parsed shop action: `search[keywords]` or `click[label]`. */
export type Action =
  | { readonly _tag: "search"; readonly query: string }
  | { readonly _tag: "click"; readonly label: string }

const pattern = /^(search|click)\[([\s\S]*)\]$/i

/**
 * Parses an action; undefined when it is neither `search[...]` nor `click[...]` or its argument is
 * blank. Surrounding white space is ignored, the verb's case too; the argument runs from the first
 * `[` to the last `]` and is trimmed.
 */
export const parse = (text: string): Action | undefined => {
  const m = pattern.exec(text.trim())
  if (m === null) return undefined
  const arg = m[2]!.trim()
  if (arg === "") return undefined
  return m[1]!.toLowerCase() === "search" ? { _tag: "search", query: arg } : { _tag: "click", label: arg }
}
