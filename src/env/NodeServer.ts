import * as Http from "node:http"

/**
 * The Node HTTP server under stepagent's servers (AgentGym, OpenEnv, `serve`). Idle keep-alive connections stay open
 * 65 s (Node's default is 5 s): clients reuse one connection across an episode's steps, and a step may wait longer
 * than 5 s on the client's own model; a connection the server closes just as the client reuses it is a reset request
 * (ECONNRESET) on the client's side. 65 s outlasts common clients' and proxies' idle timeouts (undici 4 s, AWS ALB
 * 60 s), so the client closes first. `headersTimeout` must exceed it (Node's rule).
 */
export const keepAliveMs = 65_000

export const make = (): Http.Server => {
  const server = Http.createServer()
  server.keepAliveTimeout = keepAliveMs
  server.headersTimeout = keepAliveMs + 1_000
  return server
}
