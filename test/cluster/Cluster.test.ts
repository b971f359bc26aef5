import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as CommandDispatch from "../../src/cluster/CommandDispatch.ts"
import * as Postgres from "./Postgres.ts"
import * as Processes from "./Processes.ts"
import { cli, type Done, root, until, type Worker } from "./Processes.ts"

/**
 * The cluster end to end, as a user runs it: a throwaway PostgreSQL, real `stepagent worker` processes on loopback,
 * `stepagent eval|run --cluster`, a worker killed with SIGKILL mid-evaluation. Results must equal the in-process
 * run's (docs/scale-out.md: the same backend, the same numbers, whatever the number of workers).
 */
const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "cluster-cli-"))

const workers: Array<Worker> = []

/** Starts a worker that the next `stopAll` kills. */
const startWorker = async (url: string, flags: ReadonlyArray<string> = []): Promise<Worker> => {
  const w = await Processes.startWorker(url, flags)
  workers.push(w)
  return w
}

/** STEPAGENT_CLUSTER_TEST_LOGS=DIR keeps every worker's log there (for a failure's post-mortem). */
const keepLogs = process.env["STEPAGENT_CLUSTER_TEST_LOGS"]
let logCount = 0

const stopAll = () => {
  const ws = workers.splice(0)
  Processes.kill(ws)
  if (keepLogs !== undefined) for (const w of ws) NodeFs.writeFileSync(NodePath.join(keepLogs, `worker-${++logCount}.log`), w.log())
}

/** Units of episodes a worker started (sampling batches and whole commands not counted). */
const unitsStarted = (w: Worker): number => (w.log().match(/episodes from \S+, policy [0-9a-f]+\) started/g) ?? []).length

let pg: Postgres.Postgres
let checkpoint: string

beforeAll(async () => {
  pg = await Postgres.start()
  const r = await cli(["run", "pipelines/tiny.ts", "--out", NodePath.join(dir, "runs")])
  expect(r.status, r.stderr).toBe(0)
  checkpoint = r.stdout.split("\n")[0]!
}, 180_000)

afterAll(() => {
  stopAll()
  pg?.stop()
  NodeFs.rmSync(dir, { recursive: true, force: true })
})

let houseRun: Promise<Done> | undefined
/** The in-process evaluation of 48 house test episodes (3 units), once. */
const houseLocal = async (): Promise<Done> => {
  houseRun ??= cli(evalArgs("house", 48))
  const r = await houseRun
  expect(r.status, r.stderr).toBe(0)
  return r
}

/** A run's metrics, every one but the wall-clock ones (timings, throughputs). */
const metrics = (run: string) =>
  NodeFs.readFileSync(NodePath.join(run, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    .map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith("timing/") && !k.startsWith("perf/"))))

const evalArgs = (envName: string, n: number) => ["eval", "--checkpoint", checkpoint, "--env", envName, "--n", String(n), "--json"]

describe("stepagent on a cluster", () => {
  it("eval gives the in-process summary with 1 and with 3 workers; units spread over the workers", async () => {
    const local = await cli(evalArgs("qa", 96))
    expect(local.status, local.stderr).toBe(0)
    const expected = JSON.parse(local.stdout) as { episodes: number }
    expect(expected.episodes).toBe(96)
    const one = await startWorker(pg.url)
    const withOne = await cli([...evalArgs("qa", 96), "--cluster", pg.url])
    expect(withOne.status, withOne.stderr).toBe(0)
    expect(JSON.parse(withOne.stdout)).toEqual(expected)
    expect(unitsStarted(one)).toBe(6) // 96 episodes in waves of 16
    const more = [await startWorker(pg.url), await startWorker(pg.url)]
    const withThree = await cli([...evalArgs("qa", 96), "--cluster", pg.url])
    expect(withThree.status, withThree.stderr).toBe(0)
    expect(JSON.parse(withThree.stdout)).toEqual(expected)
    // placement balances: the 6 units of the second evaluation split 2/2/2 (the first worker had 6 before)
    const counts = [unitsStarted(one) - 6, ...more.map(unitsStarted)]
    expect(counts.reduce((a, b) => a + b, 0), [one, ...more].map((w) => w.log()).join("\n")).toBe(6)
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1)
  }, 240_000)

  it("run --cluster (StepAgent's sampling, step-reward scoring and the evaluation on workers): the in-process run's metrics and evaluation", async () => {
    if (workers.length === 0) await startWorker(pg.url)
    const r = await cli(["run", "pipelines/tiny.ts", "--out", NodePath.join(dir, "runs-cluster"), "--cluster", pg.url])
    expect(r.status, r.stderr).toBe(0)
    const run = r.stdout.split("\n")[0]!
    const summary = (run: string) => JSON.parse(NodeFs.readFileSync(NodePath.join(run, "eval", "summary.json"), "utf8")) as unknown
    expect(summary(run)).toEqual(summary(checkpoint))
    const [a, b] = [metrics(checkpoint), metrics(run)]
    expect(a.some((m) => m["sample/actions"] !== undefined)).toBe(true)
    expect(b).toEqual(a)
    const logs = workers.map((w) => w.log()).join("\n")
    expect(logs).toMatch(/states x 1 samples, policy [0-9a-f]+\) done/)
    expect(logs).toMatch(/\(32 logp scores, model [0-9a-f]+\) done/) // π_ref and π_φ on a batch of 16 pairs
  }, 180_000)

  it("the inverse variant's discriminator scores on workers: the in-process run's metrics", async () => {
    if (workers.length === 0) await startWorker(pg.url)
    const args = (out: string) => ["run", "pipelines/tiny.ts", "--out", NodePath.join(dir, out), "--set", "stages.1.reward=inverse"]
    const local = await cli(args("runs-inverse"))
    expect(local.status, local.stderr).toBe(0)
    const remote = await cli([...args("runs-inverse-cluster"), "--cluster", pg.url])
    expect(remote.status, remote.stderr).toBe(0)
    const [a, b] = [metrics(local.stdout.split("\n")[0]!), metrics(remote.stdout.split("\n")[0]!)]
    expect(a.some((m) => m["loss/disc"] !== undefined)).toBe(true)
    expect(b).toEqual(a)
    expect(workers.map((w) => w.log()).join("\n")).toMatch(/\(\d+ discriminator scores, model [0-9a-f]+\) done/)
  }, 240_000)

  it("outcome PPO with its rollouts on workers: the same metrics and evaluation as in-process", async () => {
    if (workers.length === 0) await startWorker(pg.url)
    const script = "test/cluster/tiny-outcome.ts"
    const [local, remote] = [await cli(["run", script, "--out", NodePath.join(dir, "outcome")]), await cli(["run", script, "--out", NodePath.join(dir, "outcome-cluster"), "--cluster", pg.url])]
    expect(local.status, local.stderr).toBe(0)
    expect(remote.status, remote.stderr).toBe(0)
    const [a, b] = [metrics(local.stdout.split("\n")[0]!), metrics(remote.stdout.split("\n")[0]!)]
    expect(a.some((r) => r["rollout/avg_reward"] !== undefined)).toBe(true)
    expect(b).toEqual(a)
  }, 240_000)

  it("paper-table --cluster: each run on a worker, one at a time, every run's evaluation equals the in-process table's", async () => {
    stopAll()
    await startWorker(pg.url) // one worker, handed two methods' runs at once: it must run them one after the other
    const table = (out: string, extra: ReadonlyArray<string>) =>
      Processes.spawn(["pipelines/paper-table.ts", "--budget", "smoke", "--envs", "qa", "--methods", "sft,outcome-ppo,stepagent-implicit", "--seeds", "1", "--out", out, ...extra])
    const [localOut, clusterOut] = [NodePath.join(dir, "table-local"), NodePath.join(dir, "table-cluster")]
    const local = await table(localOut, [])
    expect(local.status, local.stderr).toBe(0)
    const remote = await table(clusterOut, ["--cluster", pg.url])
    expect(remote.status, remote.stderr).toBe(0)
    expect(remote.stderr).toMatch(/ran on worker 127\.0\.0\.1:\d+ \(exit 0\)/)
    const summaries = (out: string) =>
      Object.fromEntries(NodeFs.readdirSync(out).filter((d) => d.includes("__")).map((d) => [d.split("__")[0]!, JSON.parse(NodeFs.readFileSync(NodePath.join(out, d, "eval", "summary.json"), "utf8")) as unknown]))
    const expected = summaries(localOut)
    expect(Object.keys(expected).sort()).toEqual(["qa-outcome-ppo-smoke", "qa-sft-smoke", "qa-stepagent-implicit-smoke"])
    expect(summaries(clusterOut)).toEqual(expected)
    // a worker runs one command at a time: each "started" line is followed by its "ended" line before the next starts
    for (const w of workers) {
      const lines = w.log().split("\n").filter((l) => /command [0-9a-f]+ \(stepagent/.test(l)).map((l) => / started$/.test(l) ? "s" : "e").join("")
      expect(lines).toMatch(/^(se)*$/)
    }
  }, 300_000)

  it("a worker killed with SIGKILL mid-evaluation: its units run elsewhere, the summary is the in-process one", async () => {
    stopAll()
    const local = await houseLocal()
    const ws = [await startWorker(pg.url), await startWorker(pg.url)]
    const running = cli([...evalArgs("house", 48), "--cluster", pg.url])
    // the first worker to start a unit is killed while it runs it
    await until(() => ws.some((x) => unitsStarted(x) > 0))
    const victim = ws.find((x) => unitsStarted(x) > 0)!
    victim.process.kill("SIGKILL")
    const done = await running
    expect(done.status, done.stderr).toBe(0)
    expect(JSON.parse(done.stdout)).toEqual(JSON.parse(local.stdout))
    const survivor = ws.find((w) => w !== victim)!
    expect(unitsStarted(survivor)).toBe(3) // all three waves ran to the end on the survivor
  }, 240_000)

  it("a worker killed with SIGKILL mid-iteration: the StepAgent run ends with the in-process run's metrics", async () => {
    stopAll()
    const ws = [await startWorker(pg.url), await startWorker(pg.url)]
    const running = cli(["run", "pipelines/tiny.ts", "--out", NodePath.join(dir, "runs-killed"), "--cluster", pg.url])
    // killed as soon as one of them starts a sampling batch
    await until(() => ws.some((w) => /states x 1 samples/.test(w.log())))
    ws.find((w) => /states x 1 samples/.test(w.log()))!.process.kill("SIGKILL")
    const done = await running
    expect(done.status, done.stderr).toBe(0)
    expect(metrics(done.stdout.split("\n")[0]!)).toEqual(metrics(checkpoint))
  }, 240_000)

  it("PostgreSQL stopped mid-evaluation and started again: the evaluation waits and ends with the in-process summary", async () => {
    stopAll()
    const local = await houseLocal()
    const w = await startWorker(pg.url)
    const running = cli([...evalArgs("house", 48), "--cluster", pg.url])
    await until(() => unitsStarted(w) > 0)
    pg.stopServer()
    await new Promise((r) => setTimeout(r, 3000))
    pg.startServer()
    const done = await running
    expect(done.status, done.stderr).toBe(0)
    expect(JSON.parse(done.stdout)).toEqual(JSON.parse(local.stdout))
  }, 240_000)

  it("a whole command stops when its worker is killed with SIGKILL (no orphan run left beside the unit's next worker)", async () => {
    stopAll()
    const w = await startWorker(pg.url)
    const commands = await CommandDispatch.open(pg.url)
    const out = NodePath.join(dir, "orphan")
    void commands.run(["run", "pipelines/tiny.ts", "--out", out], root).catch(() => undefined) // never answered: no other worker
    await until(() => /command [0-9a-f]+ \(stepagent run pipelines\/tiny\.ts\) started/.test(w.log()))
    const children = () => NodeChild.spawnSync("pgrep", ["-f", `pipelines/tiny.ts --out ${out}`], { encoding: "utf8" }).stdout.trim()
    await until(() => children() !== "")
    w.process.kill("SIGKILL")
    await until(() => children() === "")
    await commands.close()
  }, 120_000)

  it("a worker on another backend than the learner's refuses its units: the evaluation fails with one line", async () => {
    stopAll()
    await startWorker(pg.url, ["--backend", "cpu"])
    const r = await cli([...evalArgs("qa", 16), "--cluster", pg.url])
    expect(r.status).not.toBe(0)
    const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("stepagent:"))
    expect(lines, r.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(/computes on cpu\/\S+, the learner on wasm\/xnnpack/)
    stopAll()
  }, 120_000)

  it("a cluster that cannot be reached, or a URL that is not one, is a one-line error", async () => {
    const closed = "postgres://postgres@127.0.0.1:1/stepagent"
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
      [["worker", "--cluster", closed], /cannot reach PostgreSQL at .*ECONNREFUSED/],
      [[...evalArgs("qa", 4), "--cluster", closed], /cannot reach PostgreSQL/],
      [[...evalArgs("qa", 4), "--cluster", "http://example.com/db"], /is not a postgres:\/\/ URL/],
      // PostgreSQL on another machine: a worker on loopback could not be reached by the others
      [["worker", "--cluster", "postgres://postgres@192.0.2.1:5432/stepagent"], /--host 127\.0\.0\.1: PostgreSQL is on 192\.0\.2\.1/],
      [["worker", "--cluster", closed, "--host", "0.0.0.0"], /--host 0\.0\.0\.0 is not an address others can reach/]
    ]
    for (const [args, message] of cases) {
      const r = await cli(args)
      expect(r.status).not.toBe(0)
      const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("stepagent:"))
      expect(lines, r.stderr).toHaveLength(1)
      expect(lines[0]).toMatch(message)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  }, 120_000)
})
