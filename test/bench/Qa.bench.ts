/**
 * qa environment benchmarks.
 * - qaSteps: in-process env steps per second (target >= 20,000): the expert's actions replayed, and a
 *   mixed workload where a third of the actions are what a weak policy writes (misspelt searches that
 *   fall back to the fuzzy "Similar:" list, lookups, invalid actions).
 * - qaExpert: expert trajectories generated per second (target >= 1,000), through the shared
 *   `Expert.trajectory` that `data generate` uses, with thoughts.
 */
import * as Expert from "../../src/env/Expert.ts"
import * as Qa from "../../src/env/qa/Qa.ts"

// Five timed repetitions: enough for a stable median on a shared 2-core machine.
const repeats = 5
const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const timeBuild = (): { readonly sim: ReturnType<typeof Qa.make>; readonly trainMs: number; readonly testMs: number } => {
  const sim = Qa.make()
  const t0 = performance.now()
  sim.built("train")
  const t1 = performance.now()
  sim.built("test")
  return { sim, trainMs: t1 - t0, testMs: performance.now() - t1 }
}

/** Steps per second over every test task, `actionsOf` giving each episode's actions. */
const stepsPerSecond = (sim: ReturnType<typeof Qa.make>, actionsOf: (id: string) => ReadonlyArray<string>): { readonly rate: number; readonly steps: number } => {
  const plans = Array.from({ length: sim.size("test") }, (_, i) => [`test:${i}`, actionsOf(`test:${i}`)] as const)
  const rates: Array<number> = []
  let steps = 0
  for (let r = 0; r < repeats; r++) {
    steps = 0
    const t0 = performance.now()
    for (const [id, actions] of plans) {
      const run = sim.start(id)
      for (const a of actions) {
        steps++
        if (run.step(a).done) break
      }
    }
    rates.push(steps / ((performance.now() - t0) / 1000))
  }
  return { rate: median(rates), steps }
}

export const entries: Record<string, () => Promise<unknown>> = {
  qaSteps: async () => {
    const { sim, testMs, trainMs } = timeBuild()
    const expert = stepsPerSecond(sim, (id) => sim.expert(id))
    const mixed = stepsPerSecond(sim, (id) => {
      const e = sim.expert(id)
      const first = e[0]!.slice("search[".length, -1)
      // a misspelt search (fuzzy fallback), a lookup, an invalid action, then the expert's own actions
      return [`search[${first.slice(0, -2)}]`, "lookup[in]", "I think the answer is here", ...e]
    })
    return {
      buildMs: { train: Math.round(trainMs), test: Math.round(testMs) },
      expertReplayStepsPerSec: Math.round(expert.rate),
      mixedStepsPerSec: Math.round(mixed.rate),
      stepsPerRepeat: { expert: expert.steps, mixed: mixed.steps },
      target: 20_000,
      targetMet: Math.min(expert.rate, mixed.rate) >= 20_000
    }
  },
  qaExpert: async () => {
    const { sim } = timeBuild()
    const n = sim.size("train")
    const rates: Array<number> = []
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now()
      let ok = 0
      for (let i = 0; i < n; i++) if (Expert.trajectory(sim, `train:${i}`, { thoughts: true, seed: 0 }).success) ok++
      if (ok !== n) throw new Error(`expert failed on ${n - ok} tasks`)
      rates.push(n / ((performance.now() - t0) / 1000))
    }
    // Cold: a fresh simulator, so the world build is paid inside the measurement.
    const c0 = performance.now()
    const cold = Qa.make({ seed: 1 })
    for (let i = 0; i < n; i++) Expert.trajectory(cold, `train:${i}`, { thoughts: true, seed: 1 })
    const coldRate = n / ((performance.now() - c0) / 1000)
    return {
      trajectories: n,
      trajectoriesPerSec: Math.round(median(rates)),
      coldIncludingWorldBuildPerSec: Math.round(coldRate),
      target: 1_000,
      targetMet: median(rates) >= 1_000 && coldRate >= 1_000
    }
  }
}
