import { Effect } from "effect"
import type { HttpServerError } from "effect/http"
import * as UserError from "./UserError.ts"

/**
 * A server that cannot start listening says why in one line naming the host and port (a busy port, an
 * address that is not this machine's, a host that does not resolve), never exits silently or with a trace.
 * For every command that serves: `env serve` today, any later server the same way.
 */

/** Checks a port before Node sees it (Node throws a RangeError with a stack trace for one out of range). */
export const checkPort = (port: number): Effect.Effect<void, UserError.CommandError> =>
  Number.isInteger(port) && port >= 0 && port <= 65535
    ? Effect.void
    : UserError.fail(`port ${port} is out of range: use 0 to 65535 (0 picks a free port)`)

/** Checks a host before Node sees it (an empty host would quietly listen on every interface). */
export const checkHost = (host: string): Effect.Effect<void, UserError.CommandError> =>
  host.trim() === "" ? UserError.fail("--host is empty: give an address such as 127.0.0.1 (loopback) or 0.0.0.0 (every interface)") : Effect.void

const field = (u: unknown, key: string): string | undefined =>
  typeof u === "object" && u !== null && key in u && typeof (u as Record<string, unknown>)[key] === "string"
    ? (u as Record<string, string>)[key]
    : undefined

/** The line for Node's listen error (its `code`), naming the host and port. */
export const describe = (cause: unknown, host: string, port: number): string => {
  switch (field(cause, "code")) {
    case "EADDRINUSE":
      return `port ${port} on ${host} is in use`
    case "EADDRNOTAVAIL":
      return `cannot listen on ${host}: it is not an address of this machine`
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
    case "EAI_FAIL":
      return `cannot listen on ${host}: no such host`
    case "EACCES":
    case "EPERM":
      return `cannot listen on port ${port} of ${host}: permission denied${port > 0 && port < 1024 ? " (ports below 1024 need privileges)" : ""}`
    default:
      return `cannot listen on ${host} port ${port}: ${field(cause, "message") ?? String(cause)}`
  }
}

/** Handles the HTTP server's `ServeError` (`Effect.catchTag("ServeError", ListenError.onServeError(host, port))`). */
export const onServeError = (host: string, port: number) => (e: HttpServerError.ServeError): Effect.Effect<never, UserError.CommandError> =>
  UserError.fail(describe(e.cause, host, port))
