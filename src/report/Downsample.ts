/**
 * Bounded-memory downsampling of streams whose length is not known in advance (a metrics file of a
 * million lines, a samples file that grows every iteration). Both reducers keep at most `max` items,
 * evenly spread over everything pushed so far, by doubling their stride whenever they fill up:
 *
 * - `series`: consecutive points are merged into buckets of `stride` points; a bucket keeps the mean
 *   of x and y and the min and max of y (so a downsampled curve shows the trend, and its band the spread);
 * - `thin`: keeps the items whose index is a multiple of `stride` (items are not averaged: heatmap rows).
 */

/** A bucket of `n` consecutive points: mean x, mean y, and the range of y. */
export interface Point {
  readonly x: number
  readonly y: number
  readonly min: number
  readonly max: number
  readonly n: number
}

export interface Series {
  readonly push: (x: number, y: number) => void
  /** The buckets so far (the last one may be partial), at most `max`. */
  readonly points: () => ReadonlyArray<Point>
  /** Raw points per full bucket: 1 while nothing was merged. */
  readonly stride: () => number
  /** Raw points pushed. */
  readonly count: () => number
  /** The smallest and largest raw x pushed (bucket means lie inside); undefined before the first point. */
  readonly xRange: () => readonly [number, number] | undefined
}

interface Bucket {
  sx: number
  sy: number
  min: number
  max: number
  n: number
}

const close = (b: Bucket): Point => ({ x: b.sx / b.n, y: b.sy / b.n, min: b.min, max: b.max, n: b.n })

const mergePair = (a: Point, b: Point): Point => {
  const n = a.n + b.n
  return { x: (a.x * a.n + b.x * b.n) / n, y: (a.y * a.n + b.y * b.n) / n, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max), n }
}

/** A series reducer keeping at most `max` (>= 2, rounded down to even) buckets. */
export const series = (max: number): Series => {
  const cap = Math.max(2, Math.floor(max / 2) * 2)
  let full: Array<Point> = []
  let open: Bucket | undefined
  let stride = 1
  let count = 0
  let xMin = Infinity
  let xMax = -Infinity
  const push = (x: number, y: number): void => {
    count++
    if (x < xMin) xMin = x
    if (x > xMax) xMax = x
    if (open === undefined) open = { sx: x, sy: y, min: y, max: y, n: 1 }
    else {
      open.sx += x
      open.sy += y
      if (y < open.min) open.min = y
      if (y > open.max) open.max = y
      open.n++
    }
    if (open.n < stride) return
    full.push(close(open))
    open = undefined
    // Full buckets + the open one never exceed the cap: merge pairs as soon as the full ones reach it.
    if (full.length === cap) {
      const merged: Array<Point> = []
      for (let i = 0; i < cap; i += 2) merged.push(mergePair(full[i]!, full[i + 1]!))
      full = merged
      stride *= 2
    }
  }
  return {
    push,
    points: () => open === undefined ? full : [...full, close(open)],
    stride: () => stride,
    count: () => count,
    xRange: () => count === 0 ? undefined : [xMin, xMax]
  }
}

export interface Thin<A> {
  readonly push: (item: A) => void
  /** The kept items, in push order, at most `max`; the first item is always kept. */
  readonly items: () => ReadonlyArray<A>
  /** Items pushed. */
  readonly count: () => number
}

/** A reducer keeping every `stride`-th item, at most `max` (>= 1) of them. */
export const thin = <A>(max: number): Thin<A> => {
  const cap = Math.max(1, Math.floor(max))
  let kept: Array<A> = []
  let stride = 1
  let count = 0
  const push = (item: A): void => {
    const index = count++
    if (index % stride !== 0) return
    kept.push(item)
    if (kept.length > cap) {
      // Kept items sit at indices 0, s, 2s, ...: the even positions are exactly the multiples of 2s.
      kept = kept.filter((_, k) => k % 2 === 0)
      stride *= 2
    }
  }
  return { push, items: () => kept, count: () => count }
}
