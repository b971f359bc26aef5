/**
 * Splits the units of one optimizer step into micro-batches of at most `maxTokens` padded tokens
 * (count x longest sequence), for gradient accumulation: a unit is one sequence, or the chosen and
 * rejected sequences of one DPO pair (kept together). Longest first, so each micro-batch pads little.
 * A unit larger than the budget goes alone. Pure.
 */
export const plan = (lengths: ReadonlyArray<number>, maxTokens: number, sequencesPerUnit = 1): Array<Array<number>> => {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b)
  const out: Array<Array<number>> = []
  let current: Array<number> = []
  let longest = 0
  for (const i of order) {
    const L = Math.max(longest, lengths[i]!)
    if (current.length > 0 && (current.length + 1) * sequencesPerUnit * L > maxTokens) {
      out.push(current)
      current = []
      longest = 0
    }
    current.push(i)
    longest = Math.max(longest, lengths[i]!)
  }
  if (current.length > 0) out.push(current)
  return out
}

/** Rows `rows` of a (R, A) row-major array, re-padded to width `width` (<= A). */
export const rows = (x: Float32Array, A: number, rows: ReadonlyArray<number>, width: number): Float32Array => {
  const out = new Float32Array(rows.length * width)
  rows.forEach((r, i) => out.set(x.subarray(r * A, r * A + width), i * width))
  return out
}
