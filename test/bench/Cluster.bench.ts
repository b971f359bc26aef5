/**
 * Benchmarks of the cluster (docs/scale-out.md), on a throwaway PostgreSQL (test/cluster/Postgres.ts) with real
 * `stepagent worker` processes on loopback and the `tiny` qa policy of the serve tests (test/serve/Fixtures.ts):
 * - `clusterEval`: `stepagent eval --cluster` episodes/s with 2 workers x 1 thread against 1 worker x 1 thread, same
 *   policy and tasks (house test tasks: long episodes, so units are seconds of work). Target: >= 1.8x.
 * - `clusterOverhead`: 16 workers; units of one qa episode of one step sent from this process through the cluster's
 *   dispatcher: the round trip of a unit against its compute in-process (the dispatcher's overhead, ms), units/s
 *   with 64 in flight, and the time from a `kill -9` of a worker running a unit to that unit's result.
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { NodeServices } from "@effect/platform-node"
import { Effect, Fiber } from "effect"
import * as Bpe from "../../src/data/Bpe.ts"
import * as ClusterDispatcher from "../../src/cluster/ClusterDispatcher.ts"
import * as Environment from "../../src/pipeline/Environment.ts"
import * as Checkpoint from "../../src/model/Checkpoint.ts"
import * as Rng from "../../src/model/Rng.ts"
import * as Backend from "../../src/model/backend/Backend.ts"
import * as TfjsInit from "../../src/model/backend/TfjsInit.ts"
import { Dispatcher, type Wave } from "../../src/stages/Dispatcher.ts"
import * as Rollout from "../../src/stages/Rollout.ts"
import * as Postgres from "../cluster/Postgres.ts"
import * as Processes from "../cluster/Processes.ts"
import { cli, type Worker } from "../cluster/Processes.ts"
import * as Fixtures from "../serve/Fixtures.ts"

const round = (x: number, digits = 3): number => Number(x.toPrecision(digits))
const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const startWorker = (url: string): Promise<Worker> => Processes.startWorker(url, ["--threads", "1"])
const stop = Processes.kill

/** `eval --json` with its own timing of the episodes ("done in X s" on stderr). */
const timedEval = async (args: ReadonlyArray<string>) => {
  const r = await cli(args)
  if (r.status !== 0) throw new Error(`eval failed: ${r.stderr.slice(-500)}`)
  const seconds = Number(/done in ([0-9.]+) s/.exec(r.stderr)?.[1] ?? Number.NaN)
  return { summary: JSON.parse(r.stdout) as { episodes: number; avgReward: number }, seconds }
}

const withCheckpoint = async <A>(f: (checkpoint: string, pg: Postgres.Postgres, backend: TfjsInit.Info) => Promise<A>): Promise<A> => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "bench-cluster-"))
  const pg = await Postgres.start()
  try {
    const backend = await Effect.runPromise(TfjsInit.initialise({ backend: "wasm", threads: 1, matmul: "xnnpack" }, {}))
    const checkpoint = NodePath.join(dir, "unit-0001")
    await Effect.runPromise(Fixtures.qaCheckpoint(checkpoint).pipe(Effect.provide(NodeServices.layer)))
    return await f(checkpoint, pg, backend)
  } finally {
    pg.stop()
    NodeFs.rmSync(dir, { recursive: true, force: true })
  }
}

const clusterEval = () =>
  withCheckpoint(async (checkpoint, pg) => {
    const n = 192 // 12 units of 16 house episodes (about 1.5 s each with the tiny policy): 6 a worker with two
    const args = ["eval", "--checkpoint", checkpoint, "--env", "house", "--n", String(n), "--json"]
    const local = await timedEval(args)
    const runs: Array<{ workers: number; seconds: number; episodesPerSecond: number }> = []
    const workers: Array<Worker> = []
    try {
      for (const count of [1, 2]) {
        while (workers.length < count) workers.push(await startWorker(pg.url))
        await timedEval([...args.slice(0, 6), "32", "--json", "--cluster", pg.url]) // warm-up: every worker fetches the policy and builds the world
        const r = await timedEval([...args, "--cluster", pg.url])
        if (JSON.stringify(r.summary) !== JSON.stringify(local.summary)) throw new Error(`cluster summary differs: ${JSON.stringify(r.summary)} vs ${JSON.stringify(local.summary)}`)
        runs.push({ workers: count, seconds: r.seconds, episodesPerSecond: round(n / r.seconds) })
      }
    } finally {
      stop(workers)
    }
    const exact = runs[0]!.seconds / runs[1]!.seconds
    const ratio = round(exact)
    return {
      model: "tiny (copy head, 300-token BPE), house test tasks, 16 episodes a unit",
      episodes: n,
      inProcess: { seconds: round(local.seconds), episodesPerSecond: round(n / local.seconds) },
      runs,
      ratio,
      target: 1.8,
      met: exact >= 1.8,
      loadAverage: NodeOs.loadavg().map((x) => round(x, 2))
    }
  })

const clusterOverhead = () =>
  withCheckpoint(async (checkpoint, pg, backend) => {
    const loaded = await Effect.runPromise(Checkpoint.load(checkpoint).pipe(Effect.provide(NodeServices.layer)))
    const tokenizer = await Effect.runPromise(Bpe.load(loaded.tokenizer.json))
    const model = loaded.models["policy"]!.model
    const spec = { name: "qa", seed: 0, instruction: "drop" as const }
    const wave = (i: number, maxSteps = 1): Wave => ({ taskIds: [`test:${i % 500}`], seed: i, maxSteps, maxTokens: 1024, temperature: 0, env: spec })
    // the compute of such a unit in this process: the floor under a round trip
    const envLayer = Environment.envLayer({ env: { name: "qa", seed: 0 }, render: { instruction: "drop" } })
    const actor: Rollout.Actor = { kind: "model", model, tokenizer, maxTokens: 1024, temperature: 0 }
    const computeMs: Array<number> = []
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now()
      await Effect.runPromise(Rollout.run(actor, wave(i).taskIds, Rng.make(i), 1).pipe(Effect.provide(envLayer)))
      if (i >= 10) computeMs.push(performance.now() - t0)
    }
    const workers: Array<Worker> = []
    try {
      for (let i = 0; i < 16; i++) workers.push(await startWorker(pg.url))
      const program = Effect.gen(function*() {
        const d = yield* Dispatcher
        const policy = { model, tokenizer }
        // warm-up: every worker fetches the policy (units spread evenly by placement)
        yield* Effect.forEach(Array.from({ length: 64 }, (_, i) => i), (i) => d.episodes(wave(100_000 + i), policy), { concurrency: 64 })
        const roundTrip: Array<number> = []
        for (let i = 0; i < 40; i++) {
          const t0 = performance.now()
          yield* d.episodes(wave(i), policy)
          roundTrip.push(performance.now() - t0)
        }
        const units = 640
        const t0 = performance.now()
        yield* Effect.forEach(Array.from({ length: units }, (_, i) => i), (i) => d.episodes(wave(1000 + i), policy), { concurrency: 64 })
        const unitsPerSecond = units / ((performance.now() - t0) / 1000)
        // kill -9 of a worker while it runs a long unit (a whole qa episode of 16 tasks): time to its result
        const long: Wave = { taskIds: Array.from({ length: 16 }, (_, k) => `test:${k}`), seed: 7, maxSteps: null, maxTokens: 1024, temperature: 0, env: spec }
        const fiber = yield* Effect.forkChild(d.episodes(long, policy))
        const running = (x: Worker) => /16 qa episodes from test:0, policy [0-9a-f]+\) started/.test(x.log())
        yield* Effect.promise(() => Processes.until(() => workers.some(running)))
        const victim = workers.find(running)!
        const killedAt = performance.now()
        victim.process.kill("SIGKILL")
        yield* Fiber.join(fiber)
        const recoverySeconds = (performance.now() - killedAt) / 1000
        return { roundTrip, unitsPerSecond, recoverySeconds }
      })
      // the learner's backend, which the workers (wasm, XNNPACK, as the env says) check units against
      const r = await Effect.runPromise(program.pipe(Effect.provide(ClusterDispatcher.layer(pg.url)), Effect.provideService(Backend.Backend, backend), Effect.scoped))
      return {
        workers: 16,
        model: "tiny; a unit: one qa episode cut at one step",
        computeMsMedian: round(median(computeMs)),
        roundTripMsMedian: round(median(r.roundTrip)),
        overheadMsMedian: round(median(r.roundTrip) - median(computeMs)),
        unitsPerSecond: round(r.unitsPerSecond),
        killToResultSeconds: round(r.recoverySeconds),
        loadAverage: NodeOs.loadavg().map((x) => round(x, 2))
      }
    } finally {
      stop(workers)
      Checkpoint.dispose(loaded)
    }
  })

export const entries = { clusterEval, clusterOverhead }
