/**
 * HotpotQA's answer metrics (the official evaluation script, as ReAct's wrappers use it):
 * normalise (lowercase, drop ASCII punctuation, drop the articles a/an/the, collapse spaces),
 * then exact match, and token F1 with yes/no/noanswer scored all-or-nothing.
 */

// Python's string.punctuation.
const punctuation = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g
const articles = /\b(a|an|the)\b/g

export const normalize = (s: string): string =>
  s.toLowerCase().replace(punctuation, "").replace(articles, " ").split(/\s+/).filter((t) => t !== "").join(" ")

const special = new Set(["yes", "no", "noanswer"])

/** Token F1 between a predicted and a gold answer, in [0, 1]. */
export const f1 = (prediction: string, gold: string): number => {
  const p = normalize(prediction)
  const g = normalize(gold)
  if ((special.has(p) || special.has(g)) && p !== g) return 0
  const pt = p === "" ? [] : p.split(" ")
  const gt = g === "" ? [] : g.split(" ")
  const counts = new Map<string, number>()
  for (const t of gt) counts.set(t, (counts.get(t) ?? 0) + 1)
  let same = 0
  for (const t of pt) {
    const c = counts.get(t) ?? 0
    if (c > 0) {
      same++
      counts.set(t, c - 1)
    }
  }
  if (same === 0) return 0
  const precision = same / pt.length
  const recall = same / gt.length
  return (2 * precision * recall) / (precision + recall)
}

export const exactMatch = (prediction: string, gold: string): boolean => normalize(prediction) === normalize(gold)
