import { Result } from "effect"

/**
 * The request bodies of AgentGym's environment protocol, as AgentGym's own clients send them
 * (agentenv/agentenv/envs/*.py), parsed strictly: a field the server does not know, a value of the
 * wrong type or a reset that names no task is refused with a one-line reason, never guessed around.
 *
 * Sessions are named by `id` (ALFWorld, BabyAI, SciWorld, TextCraft, LMRL-Gym Maze) or `env_idx`
 * (WebShop, SQLGym, SearchQA, WebArena, the tool environments). A reset names its task with the field its
 * client uses (`taskFields`); when `env_idx` names the session, `id` names the task, as SearchQA's and
 * the tool environments' servers read it.
 */
export type SessionKey = "id" | "env_idx"

/** The reset fields that name a task (an index into the server's split), and who sends each. */
export const taskFields = {
  data_idx: "BabyAI, SciWorld, TextCraft, stepagent",
  game: "ALFWorld, LMRL-Gym Maze",
  session_id: "WebShop",
  item_id: "SQLGym",
  idx: "WebArena",
  id: "SearchQA and the tool environments, with env_idx"
} as const
export type TaskField = keyof typeof taskFields

export interface SessionRef {
  readonly session: number
  readonly key: SessionKey
}
export interface Reset extends SessionRef {
  readonly task: number
  readonly taskField: TaskField
}
export interface Step extends SessionRef {
  readonly action: string
}

type Body = Readonly<Record<string, unknown>>

/** Fields each endpoint accepts; anything else is refused. */
const accepted = {
  "/create": ["id", "minecraft_dir", "commands", "goal"],
  "/reset": ["id", "env_idx", "data_idx", "game", "session_id", "item_id", "idx", "world_type", "seed"],
  "/step": ["id", "env_idx", "action"],
  "/close": ["id", "env_idx"]
} as const
type Endpoint = keyof typeof accepted

/** A short description of a JSON value for an error message (never the value itself: it may be megabytes). */
const kind = (v: unknown): string => {
  if (v === null) return "null"
  if (Array.isArray(v)) return "an array"
  switch (typeof v) {
    case "object":
      return "an object"
    case "string":
      return v.length <= 20 ? `the string ${JSON.stringify(v)}` : "a string"
    case "number":
      return String(v)
    default:
      return typeof v
  }
}

const quote = (s: string) => JSON.stringify(s.length <= 40 ? s : `${s.slice(0, 40)}...`)

const parseJson = (text: string): Result.Result<unknown, string> => {
  try {
    return Result.succeed(JSON.parse(text) as unknown)
  } catch {
    return Result.fail("the body is not valid JSON")
  }
}

/** Decodes a body: an empty body is `{}`; it must be a JSON object with accepted fields only. */
const object = (text: string, endpoint: Endpoint): Result.Result<Body, string> =>
  Result.flatMap(text.trim() === "" ? Result.succeed({}) : parseJson(text), (json) => {
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      return Result.fail(`the body must be a JSON object, got ${kind(json)}`)
    }
    const allowed: ReadonlyArray<string> = accepted[endpoint]
    const unknown = Object.keys(json).find((k) => !allowed.includes(k))
    if (unknown !== undefined) return Result.fail(`unknown field ${quote(unknown)} (${endpoint} accepts ${allowed.join(", ")})`)
    return Result.succeed(json as Body)
  })

/** The hint for the one mismatch we can recognise: a client that expected /create to answer a bare integer. */
const createHint = (v: unknown) =>
  typeof v === "object" && v !== null && !Array.isArray(v) && "id" in v
    ? "; it looks like the whole /create answer: AgentGym's WebShop, SQLGym, SearchQA and tool clients need the server started with --create-reply integer"
    : ""

/** An optional non-negative integer field. */
const index = (body: Body, field: string): Result.Result<number | undefined, string> => {
  if (!Object.hasOwn(body, field)) return Result.succeed(undefined)
  const v = body[field]
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0
    ? Result.succeed(v)
    : Result.fail(`${field} must be a non-negative integer, got ${kind(v)}${createHint(v)}`)
}

const sessionOf = (envIdx: number | undefined, id: number | undefined): Result.Result<SessionRef, string> =>
  envIdx !== undefined
    ? Result.succeed({ session: envIdx, key: "env_idx" })
    : id !== undefined
      ? Result.succeed({ session: id, key: "id" })
      : Result.fail("no session named: send id or env_idx (the number /create answered)")

/** A body naming a session by `id` or `env_idx`, not both. */
const session = (body: Body): Result.Result<SessionRef, string> =>
  Result.gen(function*() {
    const envIdx = yield* index(body, "env_idx")
    const id = yield* index(body, "id")
    if (envIdx !== undefined && id !== undefined) return yield* Result.fail("the session is named twice (id and env_idx): send one")
    return yield* sessionOf(envIdx, id)
  })

/** POST /create: AgentGym's tool clients send `{"id": 0}` and TextCraft's `{"minecraft_dir", "commands": null, "goal": null}`. */
export const create = (text: string): Result.Result<void, string> =>
  Result.gen(function*() {
    const body = yield* object(text, "/create")
    // `id` is the tool servers' first task; every client resets before stepping, so it only has to be well-formed.
    yield* index(body, "id")
    if (Object.hasOwn(body, "minecraft_dir") && typeof body.minecraft_dir !== "string") {
      return yield* Result.fail(`minecraft_dir must be a string, got ${kind(body.minecraft_dir)}`)
    }
    for (const f of ["commands", "goal"] as const) {
      if (Object.hasOwn(body, f) && body[f] !== null) {
        return yield* Result.fail(`${f} must be null: custom TextCraft ${f === "goal" ? "goals" : "recipes"} are not supported (tasks come from the server's split)`)
      }
    }
  })

export interface ResetContext {
  /** The server's world seed: a `seed` field (WebArena sends 0) must match it. */
  readonly worldSeed: number
}

/** POST /reset: the session and exactly one task field. */
export const reset = (text: string, context: ResetContext): Result.Result<Reset, string> =>
  Result.gen(function*() {
    const body = yield* object(text, "/reset")
    const envIdx = yield* index(body, "env_idx")
    const id = yield* index(body, "id")
    // With env_idx naming the session, `id` is the task (SearchQA's and the tool environments' reset).
    const ref = yield* sessionOf(envIdx, id)
    const candidates = (Object.keys(taskFields) as Array<TaskField>).filter((f) => f !== "id" || envIdx !== undefined)
    const named = candidates.filter((f) => Object.hasOwn(body, f))
    if (named.length === 0) {
      const list = candidates.map((f) => `${f} (${taskFields[f]})`).join(", ")
      return yield* Result.fail(`no task named: /reset needs one of ${list}${envIdx === undefined ? ", or id alongside env_idx" : ""}`)
    }
    if (named.length > 1) return yield* Result.fail(`the task is named twice (${named.join(" and ")}): send one`)
    const taskField = named[0]!
    const task = yield* index(body, taskField)
    if (Object.hasOwn(body, "world_type") && body.world_type !== "Text") {
      return yield* Result.fail(`world_type ${kind(body.world_type)} is not available: this server runs text worlds only ("Text")`)
    }
    const seed = yield* index(body, "seed")
    if (seed !== undefined && seed !== context.worldSeed) {
      return yield* Result.fail(`seed ${seed} does not match this server's world seed ${context.worldSeed} (env serve --seed)`)
    }
    return { ...ref, task: task!, taskField }
  })

/** POST /step: the session and the action text. */
export const step = (text: string): Result.Result<Step, string> =>
  Result.gen(function*() {
    const body = yield* object(text, "/step")
    const ref = yield* session(body)
    if (typeof body.action !== "string") return yield* Result.fail(`action must be a string, got ${body.action === undefined ? "nothing" : kind(body.action)}`)
    return { ...ref, action: body.action }
  })

/** POST /close: the session. */
export const close = (text: string): Result.Result<SessionRef, string> => Result.flatMap(object(text, "/close"), session)

/** GET /observation?id=n (or ?env_idx=n). */
export const observation = (params: URLSearchParams): Result.Result<SessionRef, string> => {
  const unknown = [...params.keys()].find((k) => k !== "id" && k !== "env_idx")
  if (unknown !== undefined) return Result.fail(`unknown query parameter ${quote(unknown)} (/observation accepts id or env_idx)`)
  const values = (["id", "env_idx"] as const).flatMap((key) => params.getAll(key).map((raw) => ({ key, raw })))
  if (values.length === 0) return Result.fail("no session named: add ?id=n or ?env_idx=n")
  if (values.length > 1) return Result.fail("the session is named more than once: add one id or env_idx")
  const { key, raw } = values[0]!
  const n = /^(0|[1-9][0-9]{0,15})$/.test(raw) ? Number(raw) : Number.NaN
  return Number.isSafeInteger(n) ? Result.succeed({ session: n, key }) : Result.fail(`${key} must be a non-negative integer, got ${quote(raw)}`)
}
