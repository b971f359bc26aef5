import * as ChildProcess from "node:child_process"
import * as NodeFs from "node:fs"
import * as Net from "node:net"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"

/**
 * A throwaway PostgreSQL for the cluster tests and benches: `initdb` in a temporary directory, a server on
 * 127.0.0.1 at a free port with its socket in that directory, trust authentication, one database; `stop` ends it
 * and removes the directory. Uses the machine's PostgreSQL server binaries (Debian's `postgresql` package:
 * /usr/lib/postgresql/<version>/bin; `.ci/run` installs it when missing). PostgreSQL refuses to run as root: as
 * root the server runs as the `postgres` user (`runuser`), as in ../shared/STACK.md.
 */
export interface Postgres {
  readonly url: string // postgres://postgres@127.0.0.1:<port>/stepagent
  readonly port: number
  readonly dir: string
  /** Stops the server (fast shutdown: open connections are cut), keeping its data: `start` it again. */
  readonly stopServer: () => void
  readonly startServer: () => void
  /** Stops the server and removes its directory. */
  readonly stop: () => void
}

const binDir = (): string => {
  const root = "/usr/lib/postgresql"
  const versions = NodeFs.existsSync(root) ? NodeFs.readdirSync(root).filter((v) => NodeFs.existsSync(NodePath.join(root, v, "bin", "initdb"))) : []
  const v = versions.sort((a, b) => Number(b) - Number(a))[0]
  if (v === undefined) throw new Error("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/<version>/bin/initdb): apt-get install postgresql")
  return NodePath.join(root, v, "bin")
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = Net.createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as Net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

export const start = async (): Promise<Postgres> => {
  const bin = binDir()
  const root = process.getuid?.() === 0
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "stepagent-pg-"))
  NodeFs.chmodSync(dir, 0o755)
  if (root) ChildProcess.execFileSync("chown", ["postgres", dir])
  const run = (cmd: string, args: ReadonlyArray<string>) => {
    const [file, argv] = root ? ["runuser", ["-u", "postgres", "--", NodePath.join(bin, cmd), ...args]] : [NodePath.join(bin, cmd), [...args]]
    ChildProcess.execFileSync(file, argv, { stdio: ["ignore", "pipe", "pipe"] })
  }
  const data = NodePath.join(dir, "data")
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
  const port = await freePort()
  // fsync off: a throwaway cluster; max_connections: 16 worker processes with their pools
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`
  const startServer = () => run("pg_ctl", ["-D", data, "-o", options, "-l", NodePath.join(dir, "log"), "-w", "start"])
  const stopServer = () => run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"])
  startServer()
  run("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "stepagent"])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/stepagent`,
    port,
    dir,
    stopServer,
    startServer,
    stop: () => {
      try {
        stopServer()
      } catch {
        // already stopped
      }
      NodeFs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
