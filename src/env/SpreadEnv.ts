import { Effect } from "effect"
import { Env } from "./Env.ts"

/**
 * Several servers of one environment as one `Env` (`--env-url URL1,URL2,...`): sessions are opened on them in turn,
 * so that episodes spread evenly; a server that cannot open a session (down, at capacity) is passed over for the next
 * one, and the open fails only when every server refused. Each server's own client keeps its retries and timeouts.
 * Which server runs an episode does not change it: they serve the same environment.
 */
export const spread = (envs: ReadonlyArray<Env["Service"]>): Env["Service"] => {
  let next = 0
  const open = Effect.suspend(() => {
    const first = next++ % envs.length
    const attempt = (k: number): Env["Service"]["open"] => {
      const here = envs[(first + k) % envs.length]!.open
      return k + 1 < envs.length ? Effect.catch(here, () => attempt(k + 1)) : here
    }
    return attempt(0)
  })
  return Env.of({ name: envs[0]!.name, size: (split) => envs[0]!.size(split), open })
}

/** The servers of a `--env-url` / `env.url` value: one URL, or several separated by commas. */
export const urls = (url: string): ReadonlyArray<string> => url.split(",").map((u) => u.trim()).filter((u) => u !== "")
