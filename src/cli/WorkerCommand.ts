import { Console, Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import * as Net from "node:net"
import * as Cluster from "../cluster/Cluster.ts"
import * as ComputeThread from "../cluster/ComputeThread.ts"
import * as PolicyStore from "../cluster/PolicyStore.ts"
import * as Worker from "../cluster/Worker.ts"
import * as BackendCommand from "./BackendCommand.ts"
import * as ListenError from "./ListenError.ts"
import * as UserError from "./UserError.ts"

/**
 * `stepagent worker --cluster postgres://USER@HOST:PORT/DB [--threads N] [--host H] [--port P]`: joins the
 * cluster as a worker and runs the units `run`, `resume` and `eval` hand out with `--cluster` (docs/scale-out.md)
 * until stopped (Ctrl-C or SIGTERM: its shards go to the other workers). The first line on stdout is one JSON
 * object: the address other members reach it at, its pid and the backend.
 */
const clusterHelp = [
  "the cluster's PostgreSQL (15 or later), postgres://USER@HOST:PORT/DB; every worker and the learner name the same one.",
  "To start a throwaway one as a user other than root: initdb -D /tmp/pg -A trust -U postgres &&",
  "pg_ctl -D /tmp/pg -o \"-p 5432 -c listen_addresses=127.0.0.1\" -w start && createdb -h 127.0.0.1 -U postgres stepagent",
  "(as root, run each through runuser -u postgres --; listen_addresses='*' and a pg_hba.conf entry for other hosts);",
  "then --cluster postgres://postgres@127.0.0.1:5432/stepagent"
].join(" ")

export const clusterFlag = Flag.String("cluster").pipe(Flag.withDescription(clusterHelp))

const isLoopback = (host: string): boolean => host === "localhost" || host === "::1" || host === "[::1]" || /^127\./.test(host)

const freePort = (host: string): Effect.Effect<number, UserError.CommandError> =>
  Effect.callback<number, UserError.CommandError>((resume) => {
    const s = Net.createServer()
    s.once("error", (e) => resume(UserError.fail(`--host ${host}: cannot listen: ${e.message}`)))
    s.listen(0, host, () => {
      const port = (s.address() as Net.AddressInfo).port
      s.close(() => resume(Effect.succeed(port)))
    })
  })

export const command = Command.make("worker", {
  cluster: clusterFlag,
  host: Flag.String("host").pipe(
    Flag.withDescription("this machine's address as the learner and other workers reach it (default 127.0.0.1: one machine; on several hosts give its LAN address)"),
    Flag.withDefault("127.0.0.1")
  ),
  port: Flag.Int("port").pipe(Flag.withDescription("TCP port the worker listens on for the cluster's messages (default: a free one)"), Flag.optional),
  listenHost: Flag.String("listen-host").pipe(
    Flag.withDescription("address to listen on, when not --host (0.0.0.0: every interface, e.g. behind NAT)"),
    Flag.optional
  ),
  ...BackendCommand.flags
}, ({ cluster, host, listenHost, port, ...flags }) =>
  Effect.gen(function*() {
    const bad = Cluster.urlProblem(cluster)
    if (bad !== undefined) return yield* UserError.fail(`--cluster ${bad}`)
    yield* ListenError.checkHost(host)
    if (host === "0.0.0.0" || host === "::") return yield* UserError.fail(`--host ${host} is not an address others can reach this worker at: give this machine's address (--listen-host ${host} listens on every interface)`)
    const dbHost = new URL(cluster).hostname
    if (isLoopback(host) && !isLoopback(dbHost)) {
      return yield* UserError.fail(`--host ${host}: PostgreSQL is on ${dbHost}, so the learner and other workers are probably on other machines and cannot reach this worker at a loopback address: give --host this machine's address`)
    }
    const listen = Option.getOrElse(listenHost, () => host)
    yield* ListenError.checkHost(listen)
    if (Option.isSome(port)) yield* ListenError.checkPort(port.value)
    const p = Option.isSome(port) && port.value !== 0 ? port.value : yield* freePort(listen)
    yield* Cluster.checkReachable(cluster)
    yield* Effect.scoped(Effect.gen(function*() {
      // units compute in a thread of their own: this one answers the cluster (shard locks, messages) meanwhile
      const thread = yield* ComputeThread.make({ url: cluster, backend: BackendCommand.options(flags) }).pipe(
        Effect.mapError((e) => new UserError.CommandError(`worker: ${e.message}`))
      )
      yield* Effect.logInfo(`worker computes on ${thread.backend}`)
      yield* PolicyStore.ensureTable().pipe(Effect.provide(Cluster.pg(cluster)), Effect.mapError((e) => new UserError.CommandError(`worker: PostgreSQL: ${e.message}`)))
      const announce = Layer.effectDiscard(Console.log(JSON.stringify({ worker: `${host}:${p}`, cluster: Cluster.safeUrl(cluster), pid: process.pid, backend: thread.backend })))
      const b = BackendCommand.options(flags)
      const childEnv = {
        ...(b.backend === undefined ? {} : { STEPAGENT_BACKEND: b.backend }),
        ...(b.threads === undefined ? {} : { STEPAGENT_THREADS: String(b.threads) }),
        ...(b.matmul === undefined ? {} : { STEPAGENT_MATMUL: b.matmul })
      }
      const worker = Worker.layer({ url: cluster, advertise: { host, port: p }, listen: { host: listen, port: p }, childEnv }, thread)
      yield* Effect.raceFirst(
        Layer.launch(Layer.merge(worker, announce)),
        // the thread's units stay unanswered: the process ends as if killed, and the cluster moves them elsewhere
        Effect.flatMap(thread.dead, (why) =>
          Effect.sync(() => {
            process.stderr.write(`stepagent: worker: its compute thread died (${why}); exiting so that its units run elsewhere\n`)
            process.exit(1)
          }))
      )
    }))
  })
).pipe(Command.withDescription("Join a cluster (PostgreSQL) as a worker: run evaluation episodes and other units handed out by run/resume/eval --cluster"))
