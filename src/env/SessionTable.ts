/**
 * The open sessions of a server: numbered from `firstId` up, at most `maxSessions` at once, each dropped after
 * `idleMillis` without a request. Time comes in as an argument (the server reads Effect's Clock), so the
 * table is plain synchronous code.
 *
 * The map is kept in least-recently-used order (a touched session moves to the end), so expiry looks only
 * at the oldest entries: each request costs O(1) amortised however many sessions are open.
 */
export interface Options {
  readonly maxSessions: number
  readonly idleMillis: number
  /** The first id handed out (default 0); ids below it are "unknown". */
  readonly firstId?: number
}

/** Why a session number finds nothing: never handed out, or handed out and since closed or expired. */
export type Missing = "unknown" | "gone"

export interface SessionTable<S> {
  /** A new session, or undefined when `maxSessions` are open (after dropping the expired ones). */
  readonly create: (now: number, value: S) => number | undefined
  /** The session, marked as used now; or why there is none. */
  readonly get: (now: number, id: number) => S | Missing
  /** Closes a session; false when it was not open. */
  readonly close: (now: number, id: number) => boolean
  readonly size: (now: number) => number
}

export const make = <S>(options: Options): SessionTable<S> => {
  const open = new Map<number, { readonly value: S; lastUsed: number }>()
  const first = options.firstId ?? 0
  let next = first

  const expire = (now: number) => {
    for (const [id, entry] of open) {
      if (now - entry.lastUsed < options.idleMillis) break
      open.delete(id)
    }
  }

  return {
    create: (now, value) => {
      expire(now)
      if (open.size >= options.maxSessions) return undefined
      const id = next++
      open.set(id, { value, lastUsed: now })
      return id
    },
    get: (now, id) => {
      expire(now)
      const entry = open.get(id)
      if (entry === undefined) return id >= first && id < next ? "gone" : "unknown"
      entry.lastUsed = now
      open.delete(id)
      open.set(id, entry)
      return entry.value
    },
    close: (now, id) => {
      expire(now)
      return open.delete(id)
    },
    size: (now) => {
      expire(now)
      return open.size
    }
  }
}
