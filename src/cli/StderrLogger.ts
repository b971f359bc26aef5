import { Cause, Logger } from "effect"

/**
 * Log lines go to stderr, so that stdout carries only what commands print for scripts
 * (`stepagent run` prints the run directory on its first line; `--json` prints one object).
 * Format: `[HH:MM:SS] LEVEL message`, and for a log with a cause (the cluster's errors and warnings) `: ` and the
 * cause's first line.
 */
const text = (message: unknown): string =>
  Array.isArray(message) ? message.map((m) => typeof m === "string" ? m : JSON.stringify(m)).join(" ") : typeof message === "string" ? message : JSON.stringify(message)

export const layer = Logger.layer([
  Logger.make(({ cause, date, logLevel, message }) => {
    const why = cause.reasons.length === 0 ? "" : `: ${Cause.pretty(cause).split("\n").find((l) => l.trim() !== "")?.trim() ?? ""}`
    process.stderr.write(`[${date.toISOString().slice(11, 19)}] ${logLevel.toUpperCase()} ${text(message)}${why}\n`)
  })
])
