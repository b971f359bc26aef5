import * as NodeChild from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeNet from "node:net"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Readline from "node:readline"
import { afterAll, describe, expect, it } from "vitest"
import * as Registry from "../../src/env/Registry.ts"

const root = NodePath.resolve(import.meta.dirname, "../..")
const node = NodePath.join(root, "node_modules/.bin/node")
const bin = NodePath.join(root, "bin/stepagent.ts")
const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "env-cli-"))
afterAll(() => NodeFs.rmSync(dir, { recursive: true, force: true }))

const run = (args: ReadonlyArray<string>, input?: string) => {
  const r = NodeChild.spawnSync(node, [bin, ...args], { cwd: root, encoding: "utf8", ...(input === undefined ? {} : { input }) })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe("stepagent env expert / play", () => {
  it("expert prints the expert's actions as a JSON array", () => {
    const r = run(["env", "expert", "--env", "qa", "--task", "test:3"])
    expect(r.status).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual(Registry.make("qa", 0).expert("test:3"))
  })
  it("a bad task id is a one-line error and a non-zero exit", () => {
    for (const task of ["test:99999", "dev:1"]) {
      const r = run(["env", "expert", "--env", "house", "--task", task])
      expect(r.status).not.toBe(0)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toContain(task)
    }
  })
  it("play works with piped input: the expert's actions reach reward 1", () => {
    const actions = Registry.make("shop", 0).expert("test:5")
    const r = run(["env", "play", "--env", "shop", "--task", "test:5"], ["", "not an action", ...actions].join("\n") + "\n")
    expect(r.status).toBe(0)
    expect(r.stdout).toContain("Invalid action!")
    expect(r.stdout).toContain("[reward 1 done true")
  })
})

describe("stepagent data generate", () => {
  it("is byte-for-byte reproducible and inspect shows successRate 1", () => {
    const a = NodePath.join(dir, "a.arrows")
    const b = NodePath.join(dir, "b.arrows")
    for (const out of [a, b]) {
      const r = run(["data", "generate", "--env", "house", "--split", "train", "--n", "50", "--seed", "3", "--thoughts", "--out", out])
      expect(r.status).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({ written: 50, expertFailures: 0 })
    }
    expect(NodeFs.readFileSync(a).equals(NodeFs.readFileSync(b))).toBe(true)
    const inspect = run(["data", "inspect", a, "--json"])
    expect(JSON.parse(inspect.stdout)).toMatchObject({ trajectories: 50, successRate: 1, meanReward: 1 })
  })
  it("--n beyond the split is a clear error", () => {
    const r = run(["data", "generate", "--env", "qa", "--split", "test", "--n", "100000", "--out", NodePath.join(dir, "x.arrows")])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/has 500 tasks/)
  })
})

describe("stepagent env serve", () => {
  it("announces its URL and answers the protocol", async () => {
    const child = NodeChild.spawn(node, [bin, "env", "serve", "--env", "qa", "--port", "0"], { cwd: root })
    try {
      const first = await new Promise<string>((resolve, reject) => {
        Readline.createInterface({ input: child.stdout }).once("line", resolve)
        child.once("exit", (code) => reject(new Error(`server exited ${code}`)))
      })
      const { url } = JSON.parse(first) as { url: string }
      const created = (await (await fetch(`${url}/create`, { method: "POST" })).json()) as { id: number }
      const reset = (await (await fetch(`${url}/reset`, { method: "POST", body: JSON.stringify({ id: created.id, data_idx: 4 }) })).json()) as { observation: string }
      expect(reset.observation).toBe(Registry.make("qa", 0).start("test:4").episode.observation)
    } finally {
      child.kill("SIGTERM")
    }
  })

  it("--create-reply integer answers /create with a bare integer, as AgentGym's WebShop client reads it", async () => {
    const child = NodeChild.spawn(node, [bin, "env", "serve", "--env", "shop", "--port", "0", "--create-reply", "integer"], { cwd: root })
    try {
      const first = await new Promise<string>((resolve, reject) => {
        Readline.createInterface({ input: child.stdout }).once("line", resolve)
        child.once("exit", (code) => reject(new Error(`server exited ${code}`)))
      })
      const { url } = JSON.parse(first) as { url: string }
      const envIdx = (await (await fetch(`${url}/create`, { method: "POST" })).json()) as unknown
      expect(typeof envIdx).toBe("number")
      await fetch(`${url}/reset`, { method: "POST", body: JSON.stringify({ env_idx: envIdx, session_id: 9 }) })
      const observation = (await (await fetch(`${url}/observation?env_idx=${String(envIdx)}`)).json()) as unknown
      expect(observation).toBe(Registry.make("shop", 0).start("test:9").episode.observation)
    } finally {
      child.kill("SIGTERM")
    }
  })

  it("--protocol openenv: curl-style HTTP and a WebSocket session play an episode; eval --env-protocol openenv equals the in-process eval", async () => {
    const child = NodeChild.spawn(node, [bin, "env", "serve", "--env", "shop", "--port", "0", "--protocol", "openenv"], { cwd: root })
    try {
      const first = await new Promise<string>((resolve, reject) => {
        Readline.createInterface({ input: child.stdout }).once("line", resolve)
        child.once("exit", (code) => reject(new Error(`server exited ${code}`)))
      })
      const announced = JSON.parse(first) as { url: string; protocol: string }
      expect(announced.protocol).toBe("openenv")
      const url = announced.url
      expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: "healthy" })
      const sim = Registry.make("shop", 0)
      const task = "test:4"
      // a plain WebSocket client (Node's global WebSocket): reset, the expert's steps, close
      const replies = await new Promise<Array<{ type: string; data: { reward?: number; done?: boolean } }>>((resolve, reject) => {
        const ws = new WebSocket(`${url.replace("http://", "ws://")}/ws`)
        const out: Array<{ type: string; data: { reward?: number; done?: boolean } }> = []
        const messages = [{ type: "reset", data: { task_id: 4 } }, ...sim.expert(task).map((message) => ({ type: "step", data: { message } })), { type: "close" }]
        ws.onopen = () => ws.send(JSON.stringify(messages.shift()))
        ws.onmessage = (e) => {
          out.push(JSON.parse(String(e.data)) as { type: string; data: { reward?: number; done?: boolean } })
          ws.send(JSON.stringify(messages.shift()))
        }
        ws.onclose = () => resolve(out)
        ws.onerror = () => reject(new Error("websocket error"))
      })
      expect(replies.map((r) => r.type)).toEqual(Array<string>(sim.expert(task).length + 1).fill("observation"))
      expect(replies.at(-1)!.data).toMatchObject({ reward: 1, done: true })
      const evalArgs = ["eval", "--policy", "random", "--env", "shop", "--n", "6", "--json"]
      const local = run(evalArgs)
      const remote = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
        const c = NodeChild.spawn(node, [bin, ...evalArgs, "--env-url", url, "--env-protocol", "openenv"], { cwd: root })
        let stdout = ""
        c.stdout.on("data", (d: Buffer) => stdout += d.toString())
        c.once("exit", (status) => resolve({ status, stdout }))
      })
      expect(remote.status).toBe(0)
      expect(JSON.parse(remote.stdout)).toEqual(JSON.parse(local.stdout))
      const wrong = run([...evalArgs, "--env-url", url.replace("http://", "ws://")])
      expect(wrong.status).not.toBe(0)
      expect(wrong.stderr.split("\n").filter((l) => l.startsWith("stepagent:"))).toEqual([
        `stepagent: --env-url ${url.replace("http://", "ws://")} is a WebSocket URL: an OpenEnv server needs the openenv protocol (--env-protocol openenv, or env.protocol: "openenv")`
      ])
    } finally {
      child.kill("SIGTERM")
    }
  }, 60_000)

  it("a busy port, a bad host, an out-of-range port: one line naming the problem, non-zero exit", async () => {
    const busy = NodeNet.createServer()
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve))
    const port = (busy.address() as NodeNet.AddressInfo).port
    try {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["--port", String(port), "--log-level", "all"], `stepagent: port ${port} on 127.0.0.1 is in use`],
        [["--port", "0", "--host", "192.0.2.1"], "stepagent: cannot listen on 192.0.2.1: it is not an address of this machine"],
        [["--port", "0", "--host", "no-such-host.invalid"], "stepagent: cannot listen on no-such-host.invalid: no such host"],
        [["--port", "70000"], "stepagent: port 70000 is out of range: use 0 to 65535 (0 picks a free port)"],
        [["--port", "-1"], "stepagent: port -1 is out of range: use 0 to 65535 (0 picks a free port)"],
        [["--port", "0", "--host", ""], "stepagent: --host is empty: give an address such as 127.0.0.1 (loopback) or 0.0.0.0 (every interface)"],
        [["--port", "0", "--idle-timeout-seconds", "0"], "stepagent: --idle-timeout-seconds must be a positive integer, got 0"]
      ]
      const results = await Promise.all(cases.map(([args]) =>
        new Promise<{ status: number | null; stderr: string; stdout: string }>((resolve) => {
          const child = NodeChild.spawn(node, [bin, "env", "serve", "--env", "qa", ...args], { cwd: root })
          let stderr = ""
          let stdout = ""
          child.stderr.on("data", (d: Buffer) => stderr += d.toString())
          child.stdout.on("data", (d: Buffer) => stdout += d.toString())
          // A server that did start would run forever: stop it, and the status shows it.
          const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
          child.once("exit", (status) => {
            clearTimeout(timer)
            resolve({ status, stderr, stdout })
          })
        })
      ))
      results.forEach((r, i) => {
        expect(r.status, cases[i]![1]).not.toBe(0)
        expect(r.status, cases[i]![1]).not.toBe(null)
        expect(r.stderr.split("\n").filter((l) => l !== "")).toEqual([cases[i]![1]])
        expect(r.stdout).toBe("")
      })
    } finally {
      busy.close()
    }
  }, 60_000)
})
