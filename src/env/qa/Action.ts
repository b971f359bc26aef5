/**
 * The qa actions as ReAct's WikiEnv reads them: `search[entity]`, `lookup[keyword]`, `finish[answer]`
 * (and WikiEnv's `think[...]`). Surrounding whitespace is stripped and the first letter lowercased,
 * as ReAct's loop does before stepping, so the prompt's `Search[...]` works too. Anything else is invalid.
 */

export type Action =
  | { readonly kind: "search" | "lookup" | "finish" | "think"; readonly argument: string }
  | { readonly kind: "invalid"; readonly text: string }

const kinds = ["search", "lookup", "finish", "think"] as const

export const parse = (raw: string): Action => {
  const stripped = raw.trim()
  const text = stripped.charAt(0).toLowerCase() + stripped.slice(1)
  if (text.endsWith("]")) {
    for (const kind of kinds) {
      if (text.startsWith(`${kind}[`) && text.length >= kind.length + 2) return { kind, argument: text.slice(kind.length + 1, -1) }
    }
  }
  return { kind: "invalid", text: stripped }
}

export const format = (kind: "search" | "lookup" | "finish", argument: string): string => `${kind}[${argument}]`
