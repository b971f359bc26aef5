/**
 * Benchmark `episodeSampling`: an episode's turns sampled as rollouts do (`Rollout.run`: every live episode's state,
 * one batched call a turn), the keys and values carried between turns (`StateCache`) against a whole prefill of every
 * state each turn (`Sample.sample`), on `small` and the best backend of the machine. 16 episodes of 20 steps whose
 * states fill the context and drop turns (house's failed evaluation episodes run 50), 12 tokens an action.
 * JSON: `{ speedup, seconds: { cached, whole }, tokens: { held, computed } }`; medians of 3 runs, interleaved.
 */
import { Effect } from "effect"
import * as Tokenized from "../../src/domain/Tokenized.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as TfjsInit from "../../src/model/backend/TfjsInit.ts"
import * as Context from "../../src/model/Context.ts"
import * as Preset from "../../src/model/Preset.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Sample from "../../src/model/Sample.ts"
import * as StateCache from "../../src/model/StateCache.ts"
import * as Transformer from "../../src/model/Transformer.ts"
import * as Fixtures from "../model/Fixtures.ts"

const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round = (x: number, digits = 3): number => Number(x.toPrecision(digits))

const episodeSampling = async (): Promise<unknown> => {
  const info = await Effect.runPromise(TfjsInit.initialise({}, {}))
  const config = Preset.config("small")
  const m = Transformer.init(config, 1)
  const episodes = Array.from({ length: 16 }, (_, i) => Fixtures.trajectory(200 + i, 20, { instruction: 60, observation: 14 }))
  const steps = Tokenized.stepCount(episodes[0]!)
  const states = Array.from({ length: steps }, (_, s) => episodes.map((t) => Context.state(t, s, config.contextLength)))
  const options = { maxTokens: 12, stop: -1, temperature: 0 }
  const whole = (): number => {
    const t0 = performance.now()
    for (const turn of states) Sample.sample(m, turn.map((st) => st.parts), turn.map((st, i) => ({ prefix: i, length: st.length })), Rng.make(1), options)
    return (performance.now() - t0) / 1000
  }
  let computed = 0
  const cached = (): number => {
    const t0 = performance.now()
    let caches: ReadonlyArray<StateCache.Entry | undefined> = episodes.map(() => undefined)
    computed = 0
    for (const turn of states) {
      const r = StateCache.sample(m, turn.map((st, i) => ({ state: Context.flatten(st.parts), cache: caches[i] })), Rng.make(1), options)
      caches = r.caches
      computed += r.computed
    }
    return (performance.now() - t0) / 1000
  }
  cached() // warm-up
  const runs = { cached: [] as Array<number>, whole: [] as Array<number> }
  for (let i = 0; i < 3; i++) {
    runs.cached.push(cached())
    runs.whole.push(whole())
  }
  Transformer.dispose(m)
  const [c, w] = [median(runs.cached), median(runs.whole)]
  return {
    backend: Backend.describe(info),
    preset: "small",
    workload: { episodes: episodes.length, steps, actionTokens: options.maxTokens, contextLength: config.contextLength },
    speedup: round(w / c),
    seconds: { cached: round(c), whole: round(w) },
    tokens: { held: states.flat().reduce((a, st) => a + st.length, 0), computed }
  }
}

export const entries: Record<string, () => Promise<unknown>> = { episodeSampling }
