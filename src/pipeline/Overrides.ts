/**
 * `--set path=value` overrides applied to a pipeline's raw definition before it is validated.
 * `path` is dot-separated (`seed`, `stages.1.iterations`, `model.preset`); `value` is JSON when it parses
 * (`3`, `true`, `"x"`, `{"a":1}`), else the plain string. Pure.
 */
export interface Override {
  readonly path: ReadonlyArray<string>
  readonly value: unknown
}

/** Parses `path=value`; a string describing the problem when it is not of that form. */
export const parse = (text: string): Override | string => {
  const eq = text.indexOf("=")
  if (eq <= 0) return `--set ${text}: expected path=value`
  const path = text.slice(0, eq).split(".")
  if (path.some((p) => p === "")) return `--set ${text}: empty path segment`
  const raw = text.slice(eq + 1)
  let value: unknown = raw
  try {
    value = JSON.parse(raw)
  } catch {
    value = raw
  }
  return { path, value }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** A copy of `target` with the override applied; a string describing the problem when the path does not fit. */
export const apply = (target: unknown, o: Override): unknown | { readonly error: string } => {
  const go = (node: unknown, i: number): { readonly value: unknown } | { readonly error: string } => {
    if (i === o.path.length) return { value: o.value }
    const key = o.path[i]!
    if (Array.isArray(node)) {
      const index = Number(key)
      if (!Number.isInteger(index) || index < 0 || index >= node.length) {
        return { error: `--set ${o.path.join(".")}: ${o.path.slice(0, i).join(".") || "(root)"} has no element ${key} (length ${node.length})` }
      }
      const inner = go(node[index], i + 1)
      if ("error" in inner) return inner
      const copy = node.slice()
      copy[index] = inner.value
      return { value: copy }
    }
    if (isRecord(node) || node === undefined) {
      const inner = go(node === undefined ? undefined : node[key], i + 1)
      return "error" in inner ? inner : { value: { ...(node ?? {}), [key]: inner.value } }
    }
    return { error: `--set ${o.path.join(".")}: ${o.path.slice(0, i).join(".")} is not an object` }
  }
  const r = go(target, 0)
  return "error" in r ? r : r.value
}
