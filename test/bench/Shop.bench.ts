/**
 * Shop environment benchmarks.
 * - shopSteps: in-process env steps per second under an agent-like policy (the expert's actions with
 *   random valid clicks and malformed actions mixed in), over 200 tasks replayed for several epochs,
 *   as training rollouts do; also cold searches per second (every query new) and pure expert replay.
 * - shopExpert: expert trajectories per second through start/step (collecting observation, thought,
 *   action), on a fresh simulator over all 5,500 tasks (cold: plans and searches computed), then again (warm).
 */
import * as Hash from "../../src/random/Hash.ts"
import * as Rng from "../../src/random/Rng.ts"
import * as Shop from "../../src/env/shop/Shop.ts"
import type { Simulator } from "../../src/env/Simulator.ts"

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const junk = ["click[nothing here]", "search", "buy now", "click[", "search[]", "click[B0ZZZZZZZZ]", "think[...]"]

/** One pass of the mixed policy over `tasks`; returns the number of steps taken. */
const mixedPass = (sim: Simulator, tasks: ReadonlyArray<string>, rng: Rng.Rng): number => {
  let steps = 0
  for (const id of tasks) {
    const run = sim.start(id)
    const expert = sim.expert(id)
    let next = 0
    for (let t = 0; t < Shop.maxSteps; t++) {
      const u = rng.next()
      let action: string
      if (u < 0.7 && next < expert.length) action = expert[next++]!
      else if (u < 0.9) {
        const valid = run.validActions() ?? []
        action = valid.length === 0 ? "click[Back to Search]" : valid[rng.int(valid.length)]!
      } else action = junk[rng.int(junk.length)]!
      steps++
      if (run.step(action).done) break
    }
  }
  return steps
}

const tasks = (split: "train" | "test", n: number): Array<string> => Array.from({ length: n }, (_, i) => `${split}:${i}`)

const shopSteps = async (): Promise<unknown> => {
  const sim = Shop.make({ seed: 0 })
  const pool = tasks("train", 200)
  const t0 = performance.now()
  mixedPass(sim, pool, Rng.make(Hash.labelled(0, "bench/warm"))) // builds the world, the index and the caches
  const warmupMs = performance.now() - t0
  const rates: Array<number> = []
  for (let rep = 0; rep < 5; rep++) {
    const rng = Rng.make(Hash.labelled(rep, "bench/steps"))
    const start = performance.now()
    let steps = 0
    for (let epoch = 0; epoch < 4; epoch++) steps += mixedPass(sim, pool, rng)
    rates.push(steps / ((performance.now() - start) / 1000))
  }
  // Pure expert replay (caches warm).
  const replayRates: Array<number> = []
  for (let rep = 0; rep < 3; rep++) {
    const start = performance.now()
    let steps = 0
    for (const id of pool) {
      const run = sim.start(id)
      for (const a of sim.expert(id)) {
        run.step(a)
        steps++
      }
    }
    replayRates.push(steps / ((performance.now() - start) / 1000))
  }
  // Cold searches: every query new (the worst case for a policy that invents queries).
  const cold = Shop.make({ seed: 1 })
  cold.start("train:0").step("search[warm up]")
  const queries = 2000
  const start = performance.now()
  for (let i = 0; i < queries; i++) cold.start("train:0").step(`search[cotton shirt ${i} blue ${i % 97} pack]`)
  const coldSearchesPerSecond = queries / ((performance.now() - start) / 1000)
  const stepsPerSecond = median(rates)
  return {
    stepsPerSecond: Math.round(stepsPerSecond),
    runs: rates.map(Math.round),
    expertReplayStepsPerSecond: Math.round(median(replayRates)),
    coldSearchesPerSecond: Math.round(coldSearchesPerSecond),
    firstPassMs: Math.round(warmupMs),
    target: 20_000,
    met: stepsPerSecond >= 20_000
  }
}

const expertPass = (sim: Simulator, ids: ReadonlyArray<string>): { readonly trajectories: number; readonly steps: number; readonly seconds: number; readonly successes: number } => {
  const start = performance.now()
  let steps = 0
  let successes = 0
  for (const id of ids) {
    const run = sim.start(id)
    const actions = sim.expert(id)
    const thoughts = sim.expertThoughts?.(id) ?? []
    const record: Array<{ observation: string; thought: string | undefined; action: string }> = []
    let observation = run.episode.observation
    for (let i = 0; i < actions.length; i++) {
      record.push({ observation, thought: thoughts[i], action: actions[i]! })
      const r = run.step(actions[i]!)
      observation = r.observation
      if (r.done) {
        if (r.reward === 1) successes++
        break
      }
    }
    steps += record.length
  }
  return { trajectories: ids.length, steps, seconds: (performance.now() - start) / 1000, successes }
}

const shopExpert = async (): Promise<unknown> => {
  const ids = [...tasks("train", 5000), ...tasks("test", 500)]
  const coldRates: Array<number> = []
  const warmRates: Array<number> = []
  const buildMs: Array<number> = []
  let successRate = 0
  for (let rep = 0; rep < 3; rep++) {
    const sim = Shop.make({ seed: 100 + rep })
    const t0 = performance.now()
    sim.start("train:0").step("search[build]") // world, tasks and search index: a one-off per simulator
    buildMs.push(performance.now() - t0)
    const cold = expertPass(sim, ids)
    coldRates.push(cold.trajectories / cold.seconds)
    successRate = cold.successes / cold.trajectories
    const warm = expertPass(sim, ids)
    warmRates.push(warm.trajectories / warm.seconds)
  }
  const trajectoriesPerSecond = median(coldRates)
  return {
    trajectoriesPerSecond: Math.round(trajectoriesPerSecond),
    runs: coldRates.map(Math.round),
    warmTrajectoriesPerSecond: Math.round(median(warmRates)),
    worldBuildMs: Math.round(median(buildMs)),
    successRate,
    target: 1_000,
    met: trajectoriesPerSecond >= 1_000
  }
}

export const entries: Record<string, () => Promise<unknown>> = { shopSteps, shopExpert }
