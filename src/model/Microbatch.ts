/**
 * Splits the units of one optimizer step into micro-batches of at most `maxTokens` padded tokens
 * (count x longest sequence), for gradient accumulation: a unit is one sequence, or the chosen and
 * rejected sequences of one DPO pair (kept together). Longest first, so each micro-batch pads little.
 * A unit larger than the budget goes alone. With `minPasses` above 1 the passes are for threads to share
 * (`GradientThreads`): as many as the budget needs, rounded up to a multiple of `minPasses` (at most one unit each),
 * the units dealt between them balanced by padded tokens, so that two threads get equal work whether the budget cuts
 * the step or not (filling passes to the budget left a step of 22 sequences as passes of 16 and 6); a plan that does
 * not depend on how many threads there are. Pure.
 */
export const plan = (lengths: ReadonlyArray<number>, maxTokens: number, sequencesPerUnit = 1, minPasses = 1): Array<Array<number>> => {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b)
  const filled = fill(order, lengths, maxTokens, sequencesPerUnit)
  if (minPasses <= 1 || lengths.length <= 1) return filled
  const fits = (g: ReadonlyArray<number>) => g.length <= 1 || g.length * sequencesPerUnit * Math.max(...g.map((i) => lengths[i]!)) <= maxTokens
  for (let k = Math.ceil(filled.length / minPasses) * minPasses; ; k += minPasses) {
    const groups = balanced(order, lengths, Math.min(k, lengths.length))
    if (k >= lengths.length || groups.every(fits)) return groups
  }
}

/** Units (longest first) filled into passes of at most `maxTokens` padded tokens, each pass to the budget. */
const fill = (order: ReadonlyArray<number>, lengths: ReadonlyArray<number>, maxTokens: number, sequencesPerUnit: number): Array<Array<number>> => {
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

/** Units (longest first) dealt into `k` groups, each to the group whose padded tokens grow least (ties: the first). */
const balanced = (order: ReadonlyArray<number>, lengths: ReadonlyArray<number>, k: number): Array<Array<number>> => {
  const groups = Array.from({ length: k }, () => ({ units: [] as Array<number>, longest: 0 }))
  for (const i of order) {
    const L = lengths[i]!
    let best = 0
    let bestCost = Infinity
    groups.forEach((g, j) => {
      const cost = (g.units.length + 1) * Math.max(g.longest, L)
      if (cost < bestCost) {
        best = j
        bestCost = cost
      }
    })
    const g = groups[best]!
    g.units.push(i)
    g.longest = Math.max(g.longest, L)
  }
  return groups.map((g) => g.units)
}

/** Rows `rows` of a (R, A) row-major array, re-padded to width `width` with 0 (past A, and on an undefined row). */
export const rows = (x: Float32Array, A: number, rows: ReadonlyArray<number | undefined>, width: number): Float32Array => {
  const out = new Float32Array(rows.length * width)
  rows.forEach((r, i) => {
    if (r !== undefined) out.set(x.subarray(r * A, r * A + Math.min(A, width)), i * width)
  })
  return out
}

/**
 * Bytes of the wasm heap a training pass may fill with activations: the heap holds 4 GB at most, the rest is left
 * for the models, their optimizer states and the allocator's fragmentation.
 */
export const trainingBytes = 3.2e9

/**
 * Bytes a training pass (forward, then backward) needs per padded token, at most: per layer, the attention's (H, T)
 * scores, probabilities and their gradients (~16 floats per score) and ~80 floats of the width C (residual, norms,
 * q/k/v, MLP at 4C, their gradients), with T the context length. Fitted on `small` at dModel 192 (4 layers, 4 heads):
 * a pass of 4,077 tokens in rows of 453 peaked at 2.93 GB (tf.profile), the formula says 2.89 GB.
 */
export const trainingBytesPerToken = (c: { readonly layers: number; readonly heads: number; readonly dModel: number; readonly contextLength: number }): number =>
  4 * c.layers * (16 * c.heads * c.contextLength + 80 * c.dModel)

/**
 * The padded tokens of a training pass: the stage's `maxTokens`, lowered to what `trainingBytes` holds for this model.
 * A pass beyond it exhausted the wasm heap (step DPO at 8,192 tokens on dModel 192 died with "memory access out of
 * bounds"). Splitting a step into more passes changes no gradient (they are accumulated exactly), only the speed.
 */
export const trainingTokens = (c: Parameters<typeof trainingBytesPerToken>[0], maxTokens: number): number =>
  Math.max(1, Math.min(maxTokens, Math.floor(trainingBytes / trainingBytesPerToken(c))))
