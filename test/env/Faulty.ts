import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { HttpServer } from "effect/http"
import * as AgentGymServer from "../../src/env/AgentGymServer.ts"
import type * as Registry from "../../src/env/Registry.ts"

/**
 * A real HTTP proxy on 127.0.0.1 in front of our real AgentGym server, misbehaving on a fixed schedule: the n-th
 * request of a path (counted from 1, per path) gets the fault the schedule names. No part of the client is mocked.
 *
 *   500           answers 500 without forwarding
 *   hangup        closes the connection without forwarding
 *   hangupAfter   forwards (the server applies the request), then closes the connection: the answer is lost
 *   hang          never answers (the client's timeout ends it)
 *   slow          forwards after a delay shorter than the client's timeout
 *   restart       restarts the server first (every session is lost), then forwards
 *   bounce        stops listening and drops every connection for `bounceMs`, so requests meanwhile are refused
 *
 * It records, per server session, the task it was reset to and the /step requests the server answered 200 (applied):
 * what the client's transcripts must agree with.
 */
export type Fault = "500" | "hangup" | "hangupAfter" | "hang" | "slow" | "restart" | "bounce"
export type Schedule = Readonly<Record<string, Readonly<Record<number, Fault>>>> // path -> n-th request -> fault

export interface SessionLog {
  task: number | undefined
  applied: number // steps the server answered 200
}

export interface Proxy {
  readonly url: string
  readonly injected: Record<Fault, number>
  readonly requests: Map<string, number> // path -> requests received
  readonly sessions: Map<string, SessionLog> // `<server generation>:<id>`
  readonly close: () => Promise<void>
}

/** Our real server on 127.0.0.1 (`port` 0: a free one), until `close`. */
export const startServer = async (sim: ReturnType<typeof Registry.make>, port = 0) => {
  const scope = Scope.makeUnsafe()
  const ctx = await Effect.runPromise(Layer.buildWithScope(AgentGymServer.layer(sim, { split: "test", worldSeed: 0 /* the sims here are seed 0 */, port, host: "127.0.0.1" }), scope))
  const server = Context.get(ctx, HttpServer.HttpServer)
  return { port: "port" in server.address ? server.address.port : 0, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const readBody = (req: Http.IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const parts: Array<Buffer> = []
    req.on("data", (c: Buffer) => parts.push(c))
    req.on("end", () => resolve(Buffer.concat(parts)))
    req.on("error", reject)
  })

const forward = (port: number, req: Http.IncomingMessage, body: Buffer) =>
  new Promise<{ status: number; headers: Http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const up = Http.request({ host: "127.0.0.1", port, method: req.method, path: req.url, headers: { "content-type": "application/json" }, agent: false }, (res) => {
      readBody(res).then((b) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }), reject)
    })
    up.on("error", reject)
    up.end(body)
  })

const sessionOf = (body: Buffer, url: string): number | undefined => {
  const fromQuery = new URL(url, "http://x").searchParams.get("id")
  if (fromQuery !== null) return Number(fromQuery)
  const json = (() => {
    try {
      return JSON.parse(body.toString("utf8") === "" ? "{}" : body.toString("utf8")) as Record<string, unknown>
    } catch {
      return {}
    }
  })()
  const id = json["id"] ?? json["env_idx"]
  return typeof id === "number" ? id : undefined
}

export const start = async (sim: ReturnType<typeof Registry.make>, schedule: Schedule, options: { readonly slowMs: number; readonly bounceMs: number }): Promise<Proxy> => {
  let upstream = await startServer(sim)
  let generation = 0
  const counts = new Map<string, number>()
  const injected: Record<Fault, number> = { "500": 0, hangup: 0, hangupAfter: 0, hang: 0, slow: 0, restart: 0, bounce: 0 }
  const sessions = new Map<string, SessionLog>()
  const sockets = new Set<import("node:net").Socket>()
  const hanging = new Set<Http.ServerResponse>()
  let port = 0

  const handle = async (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    const body = await readBody(req)
    const path = new URL(req.url ?? "/", "http://x").pathname
    const n = (counts.get(path) ?? 0) + 1
    counts.set(path, n)
    const fault = schedule[path]?.[n]
    if (fault !== undefined) injected[fault]++
    if (fault === "500") return void res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: "injected" }))
    if (fault === "hangup") return void req.socket.destroy()
    if (fault === "hang") return void hanging.add(res)
    if (fault === "bounce") {
      req.socket.destroy()
      await bounce()
      return
    }
    if (fault === "slow") await new Promise((r) => setTimeout(r, options.slowMs))
    if (fault === "restart") {
      await upstream.close()
      upstream = await startServer(sim)
      generation++
    }
    const id = sessionOf(body, req.url ?? "/")
    const key = `${generation}:${id}`
    const answer = await forward(upstream.port, req, body)
    if (answer.status === 200 && id !== undefined) {
      const log = sessions.get(key) ?? { task: undefined, applied: 0 }
      sessions.set(key, log)
      if (path === "/reset") {
        log.task = (JSON.parse(body.toString("utf8")) as { data_idx: number }).data_idx
        log.applied = 0
      }
      if (path === "/step") log.applied++
    }
    if (fault === "hangupAfter") return void req.socket.destroy()
    res.writeHead(answer.status, { "content-type": answer.headers["content-type"] ?? "application/json" }).end(answer.body)
  }

  const server = Http.createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy())
  })
  server.on("connection", (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  const listen = () => new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()))
  const bounce = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      for (const s of sockets) s.destroy()
    })
    await new Promise((r) => setTimeout(r, options.bounceMs))
    await listen()
  }
  await listen()
  port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    injected,
    requests: counts,
    sessions,
    close: async () => {
      for (const r of hanging) r.socket?.destroy()
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await upstream.close()
    }
  }
}

/** `start` for an Effect test: the proxy (and its server) close when the scope does. */
export const proxy = (sim: ReturnType<typeof Registry.make>, schedule: Schedule, options: { readonly slowMs: number; readonly bounceMs: number }) =>
  Effect.acquireRelease(Effect.promise(() => start(sim, schedule, options)), (p) => Effect.promise(() => p.close()))

/** `startServer` for an Effect test: `close` stops it at once; otherwise the scope's end does (closing twice is harmless). */
export const server = (sim: ReturnType<typeof Registry.make>, port = 0) =>
  Effect.acquireRelease(Effect.promise(() => startServer(sim, port)), (s) => Effect.promise(() => s.close()))
