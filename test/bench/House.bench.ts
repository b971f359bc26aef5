/**
 * House environment benchmarks.
 * - houseSteps: in-process env steps per second over a policy-like mix (random walks over the
 *   admissible commands plus malformed actions), action lists prepared before timing. Target 20,000/s.
 * - houseExpert: expert trajectories per second from a fresh simulator (task generation, expert,
 *   thoughts and a replay collecting the observations, as `data generate` does). Target 1,000/s.
 */
import * as House from "../../src/env/house/House.ts"
import * as Rng from "../../src/random/Rng.ts"

// Five timed runs: the median is steady on a shared 2-core machine.
const runs = 5
const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]
}

const junk = ["jump", "go to cabinet 99", "take mug 1 from", "put in/on", "", "open the door please"]

const houseSteps = async () => {
  const sim = House.make()
  // 200 episodes (within the simulator's task cache, so starting one costs no generation).
  const tasks = Array.from({ length: 200 }, (_, i) => `train:${i}`)
  const rng = Rng.make(7)
  const scripts = tasks.map((id) => {
    const ep = sim.start(id)
    const actions: Array<string> = []
    for (let k = 0; k < House.maxSteps; k++) {
      const valid = ep.validActions() ?? []
      const a = rng.next() < 0.2 ? rng.pick(junk) : rng.pick(valid)
      actions.push(a)
      if (ep.step(a).done) break
    }
    return { id, actions }
  })
  const rates: Array<number> = []
  let steps = 0
  for (let run = 0; run < runs; run++) {
    steps = 0
    let chars = 0
    const t0 = performance.now()
    for (let rep = 0; rep < 5; rep++) {
      for (const { id, actions } of scripts) {
        const ep = sim.start(id)
        for (const a of actions) chars += ep.step(a).observation.length
        steps += actions.length
      }
    }
    const dt = (performance.now() - t0) / 1000
    if (chars === 0) throw new Error("no observations")
    rates.push(steps / dt)
  }
  const stepsPerSecond = Math.round(median(rates))
  return { stepsPerSecond, stepsPerRun: steps, runs, target: 20_000, met: stepsPerSecond >= 20_000 }
}

const houseExpert = async () => {
  const n = 1000
  const rates: Array<number> = []
  let totalSteps = 0
  for (let run = 0; run < runs; run++) {
    const sim = House.make() // fresh: nothing cached between runs
    totalSteps = 0
    const t0 = performance.now()
    for (let i = 0; i < n; i++) {
      const id = `train:${run * n + i}`
      const actions = sim.expert(id)
      const thoughts = sim.expertThoughts?.(id) ?? []
      const ep = sim.start(id)
      const steps: Array<{ observation: string; thought: string; action: string }> = []
      let observation = ep.episode.observation
      let reward = 0
      actions.forEach((action, k) => {
        steps.push({ observation, thought: thoughts[k] ?? "", action })
        const r = ep.step(action)
        observation = r.observation
        reward = r.reward
      })
      if (reward !== 1) throw new Error(`expert failed on ${id}`)
      totalSteps += steps.length
    }
    rates.push(n / ((performance.now() - t0) / 1000))
  }
  const trajectoriesPerSecond = Math.round(median(rates))
  return {
    trajectoriesPerSecond,
    meanExpertSteps: Number((totalSteps / n).toFixed(2)),
    trajectoriesPerRun: n,
    runs,
    target: 1_000,
    met: trajectoriesPerSecond >= 1_000
  }
}

export const entries: Record<string, () => Promise<unknown>> = { houseSteps, houseExpert }
