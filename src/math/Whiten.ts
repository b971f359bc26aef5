/**
 * Masked whitening (pure): subtract the mean and divide by the standard deviation of the entries
 * where mask is 1; entries where mask is 0 stay 0. As TRL's `masked_whiten`, with the unbiased variance.
 */
export const masked = (x: Float32Array, mask: Float32Array, shiftMean = true): Float32Array => {
  let n = 0
  let sum = 0
  for (let i = 0; i < x.length; i++) {
    if (mask[i] !== 0) {
      n++
      sum += x[i]!
    }
  }
  const out = new Float32Array(x.length)
  if (n === 0) return out
  const mean = sum / n
  let sq = 0
  for (let i = 0; i < x.length; i++) if (mask[i] !== 0) sq += (x[i]! - mean) ** 2
  const variance = n > 1 ? sq / (n - 1) : 0
  const inv = 1 / Math.sqrt(variance + 1e-8) // 1e-8: keeps a constant batch finite
  for (let i = 0; i < x.length; i++) {
    if (mask[i] !== 0) out[i] = shiftMean ? (x[i]! - mean) * inv : (x[i]! - mean) * inv + mean
  }
  return out
}

/** Masked mean (pure). 0 when the mask is empty. */
export const maskedMean = (x: Float32Array, mask: Float32Array): number => {
  let n = 0
  let s = 0
  for (let i = 0; i < x.length; i++) {
    if (mask[i] !== 0) {
      n++
      s += x[i]!
    }
  }
  return n === 0 ? 0 : s / n
}
