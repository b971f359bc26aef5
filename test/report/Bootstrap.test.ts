import { assert, describe, it } from "@effect/vitest"
import * as Rng from "../../src/model/Rng.ts"
import * as Bootstrap from "../../src/report/Bootstrap.ts"

/** `k` seeds of `n` Bernoulli(p) episodes, drawn from a seeded generator. */
const bernoulli = (seed: number, k: number, n: number, p: number): Array<Array<number>> => {
  const rng = Rng.make(seed)
  return Array.from({ length: k }, () => Array.from({ length: n }, () => Rng.uniform(rng) < p ? 1 : 0))
}

const paired = (seed: number, values: ReadonlyArray<number>, order: ReadonlyArray<number> = values.map((_, i) => i)): Bootstrap.PairedRun => ({
  seed,
  mean: values.reduce((a, b) => a + b, 0) / values.length,
  outcomes: order.map((i) => ({ task: `test:${i}`, value: values[i]! }))
})

describe("Bootstrap.hierarchical", () => {
  it("the point estimate is the mean of the run means, inside its interval", () => {
    const e = Bootstrap.hierarchical([[1, 0, 0, 1], [1, 1, 1, 1, 0, 0]])
    assert.closeTo(e.mean, (0.5 + 4 / 6) / 2, 1e-12)
    assert.strictEqual(e.interval, "bootstrap")
    assert.isTrue(e.ci!.lo < e.mean && e.mean < e.ci!.hi)
  })

  it("the 95% interval contains the true mean (one data set, and at least 85% of 40)", () => {
    const one = Bootstrap.hierarchical(bernoulli(7, 3, 100, 0.4))
    assert.isTrue(one.ci!.lo <= 0.4 && 0.4 <= one.ci!.hi, JSON.stringify(one))
    let covered = 0
    for (let s = 0; s < 40; s++) {
      const e = Bootstrap.hierarchical(bernoulli(100 + s, 3, 60, 0.3), { resamples: 400 })
      if (e.ci!.lo <= 0.3 && 0.3 <= e.ci!.hi) covered++
    }
    assert.isAtLeast(covered, 34)
  })

  it("degenerate data gives a zero-width interval at the value", () => {
    assert.deepStrictEqual(Bootstrap.hierarchical([[0.5, 0.5], [0.5, 0.5, 0.5]]), { mean: 0.5, ci: { lo: 0.5, hi: 0.5 }, interval: "bootstrap" })
    assert.deepStrictEqual(Bootstrap.hierarchical([[0, 0, 0], [0, 0, 0], [0, 0, 0]]).ci, { lo: 0, hi: 0 })
  })

  it("is deterministic for a seed (the default one too), and the seed matters", () => {
    const data = bernoulli(3, 3, 50, 0.5)
    assert.deepStrictEqual(Bootstrap.hierarchical(data), Bootstrap.hierarchical(data))
    assert.deepStrictEqual(Bootstrap.hierarchical(data, { seed: 9 }), Bootstrap.hierarchical(data, { seed: 9 }))
    assert.deepStrictEqual(Bootstrap.hierarchical(data), Bootstrap.hierarchical(data, { seed: Bootstrap.SEED, resamples: Bootstrap.RESAMPLES }))
    assert.notDeepEqual(Bootstrap.hierarchical(data, { seed: 9 }).ci, Bootstrap.hierarchical(data, { seed: 10 }).ci)
  })

  it("resampling seeds widens the interval when the seeds disagree", () => {
    const within = Bootstrap.hierarchical([[0, 1, 0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 1, 0, 1]])
    const between = Bootstrap.hierarchical([[0, 0, 0, 0, 0, 0, 0, 0], [0, 1, 0, 1, 0, 1, 0, 1], [1, 1, 1, 1, 1, 1, 1, 1]])
    assert.closeTo(within.mean, between.mean, 1e-12)
    assert.isAbove(between.ci!.hi - between.ci!.lo, within.ci!.hi - within.ci!.lo)
  })
})

describe("Bootstrap.mean", () => {
  it("falls back to Student's t from the run means when a run has no values; none for one such run", () => {
    const t = Bootstrap.mean([{ mean: 0.2 }, { mean: 0.4, values: [0, 1] }, { mean: 0.6 }])
    assert.strictEqual(t.interval, "t")
    assert.closeTo(t.mean, 0.4, 1e-12)
    const half = 4.303 * 0.2 / Math.sqrt(3)
    assert.closeTo(t.ci!.lo, 0.4 - half, 1e-9)
    assert.closeTo(t.ci!.hi, 0.4 + half, 1e-9)
    assert.deepStrictEqual(Bootstrap.mean([{ mean: 0.25 }]), { mean: 0.25, ci: null, interval: "none" })
    assert.strictEqual(Bootstrap.mean([{ mean: 0.25, values: [0, 1, 0, 0] }]).interval, "bootstrap")
  })

  it("t975: the table, then a smooth continuation", () => {
    assert.strictEqual(Bootstrap.t975(2), 4.303)
    assert.closeTo(Bootstrap.t975(31), 2.04, 0.002)
    assert.closeTo(Bootstrap.t975(1e6), 1.96, 0.001)
  })

  it("quantile interpolates between order statistics", () => {
    assert.strictEqual(Bootstrap.quantile([0, 10], 0.25), 2.5)
    assert.strictEqual(Bootstrap.quantile([1, 2, 3, 4, 5], 0.5), 3)
  })
})

describe("Bootstrap.difference", () => {
  const base = [paired(1, [1, 0, 0, 1, 0, 0, 1, 0, 0, 0]), paired(2, [0, 0, 1, 0, 0, 1, 0, 0, 0, 0])]
  const better = [paired(1, [1, 1, 1, 1, 1, 0, 1, 1, 1, 1]), paired(2, [1, 1, 1, 1, 0, 1, 1, 1, 1, 1])]

  it("is method minus baseline: positive and 'better' one way, negative and 'worse' the other", () => {
    const up = Bootstrap.difference(better, base)
    assert.closeTo(up.mean, 0.9 - 0.25, 1e-12)
    assert.deepStrictEqual([up.seeds, up.tasks, up.interval], [[1, 2], 20, "bootstrap"])
    assert.strictEqual(Bootstrap.verdict(up), "better")
    const down = Bootstrap.difference(base, better)
    assert.closeTo(down.mean, -up.mean, 1e-12)
    assert.strictEqual(Bootstrap.verdict(down), "worse")
  })

  it("identical runs: zero difference, zero width, 'no difference'", () => {
    const same = Bootstrap.difference(base, base)
    assert.deepStrictEqual([same.mean, same.ci], [0, { lo: 0, hi: 0 }])
    assert.strictEqual(Bootstrap.verdict(same), "no difference")
  })

  it("pairs by seed and task id, not by position; unmatched seeds and tasks are left out", () => {
    const shuffled = [paired(2, better[1]!.outcomes!.map((o) => o.value), [9, 3, 0, 1, 2, 8, 4, 5, 6, 7]), paired(1, better[0]!.outcomes!.map((o) => o.value), [5, 4, 3, 2, 1, 0, 9, 8, 7, 6]), paired(3, [1, 1])]
    const d = Bootstrap.difference(shuffled, base)
    assert.deepStrictEqual(d.seeds, [2, 1])
    assert.closeTo(d.mean, 0.65, 1e-12)
    const fewer = Bootstrap.difference([paired(1, [1, 1, 1])], base)
    assert.deepStrictEqual([fewer.seeds, fewer.tasks], [[1], 3])
    assert.closeTo(fewer.mean, 1 - 1 / 3, 1e-12)
  })

  it("no common seed: no estimate; runs without outcomes: t over the per-seed differences of run means", () => {
    const none = Bootstrap.difference([paired(5, [1])], base)
    assert.deepStrictEqual([none.seeds, none.ci, none.interval, Number.isNaN(none.mean)], [[], null, "none", true])
    assert.strictEqual(Bootstrap.verdict(none), null)
    const old = Bootstrap.difference([{ seed: 1, mean: 0.6 }, { seed: 2, mean: 0.3 }], base) // differences 0.3 and 0.1
    assert.deepStrictEqual([old.interval, old.tasks], ["t", 0])
    assert.closeTo(old.mean, 0.2, 1e-12)
    assert.closeTo(old.ci!.lo, 0.2 - 12.706 * 0.1, 1e-9) // sd sqrt(0.02), over sqrt(2)
    assert.closeTo(old.ci!.hi, 0.2 + 12.706 * 0.1, 1e-9)
    const single = Bootstrap.difference([{ seed: 1, mean: 0.5 }], base)
    assert.deepStrictEqual([single.interval, single.ci], ["none", null])
  })
})
