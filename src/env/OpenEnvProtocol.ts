import { Data, Result, Schema } from "effect"

/**
 * The wire formats of OpenEnv's environment protocol (openenv-core 0.2.3's `create_app` / `HTTPEnvServer`:
 * github.com/meta-pytorch/OpenEnv src/openenv/core/env_server/{types,http_server,serialization}.py at commit 685de41,
 * 2026-05-01), as stepagent's built-in environments speak it. docs/env-server.md has the whole protocol. In short:
 *
 *   WebSocket /ws, one session per connection, JSON text frames:
 *     {"type": "reset", "data": {"task_id"?, "seed"?, "episode_id"?}} -> {"type": "observation", "data": StepResult}
 *     {"type": "step", "data": Action}                                -> {"type": "observation", "data": StepResult}
 *     {"type": "state"}                                               -> {"type": "state", "data": State}
 *     {"type": "close"}                                               -> the server closes the connection
 *     anything refused                                                -> {"type": "error", "data": {"message", "code"}}
 *   StepResult = {"observation": Observation, "reward", "done"} (openenv-core's serialize_observation)
 *
 * Our models: the Action is `{"message": "<text>"}` (TextArena's, the text-game environment of OpenEnv: an action is
 * one line of text); the Observation carries the text observation. Messages are parsed strictly, as openenv-core's
 * pydantic models with `extra="forbid"` do: an unknown field is refused with a one-line reason, never ignored.
 */

/** openenv-core's `WSErrorCode`. */
export const ErrorCode = Schema.Literals([
  "INVALID_JSON",
  "UNKNOWN_TYPE",
  "VALIDATION_ERROR",
  "EXECUTION_ERROR",
  "CAPACITY_REACHED",
  "FACTORY_ERROR",
  "SESSION_ERROR"
])
export type ErrorCode = typeof ErrorCode.Type

/** A message refused, with the code openenv-core gives such a refusal and a one-line reason. */
export class ProtocolError extends Data.TaggedError("ProtocolError")<{ readonly code: ErrorCode; readonly message: string }> {}

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const Id = Schema.String.check(Schema.isMaxLength(255))
const Metadata = Schema.Record(Schema.String, Schema.Unknown)

// ---------------------------------------------------------------- what clients send

/** An action: one line of text, as the environment's instruction describes it (`search[red shoes]`, `go to desk 1`). */
export const Action = Schema.Struct({
  message: Schema.String.annotate({ description: "The action as text, written as the environment's instruction says (e.g. \"search[red shoes]\", \"go to desk 1\")" }),
  metadata: Schema.optionalKey(Metadata.annotate({ description: "Additional metadata for the action (ignored)" }))
}).annotate({ title: "StepagentAction", description: "One action of a stepagent built-in environment: a line of text" })
export type Action = typeof Action.Type

/**
 * A reset's parameters (openenv-core's `ResetRequest`: `seed`, `episode_id`, plus the environment's own `task_id`).
 * `task_id` names the task: an index into the server's split, or a full task id `<train|test>:<index>`.
 */
export const ResetData = Schema.Struct({
  task_id: Schema.optionalKey(Schema.NullOr(Schema.Union([NonNegativeInt, Schema.String])).annotate({
    description: "The task: an index into the server's split (env serve --split), or a task id <train|test>:<index>. Absent: the session's next task (0, 1, 2, ...)"
  })),
  seed: Schema.optionalKey(Schema.NullOr(NonNegativeInt).annotate({ description: "The world seed: must be the server's (env serve --seed)" })),
  episode_id: Schema.optionalKey(Schema.NullOr(Id).annotate({ description: "Custom episode identifier (default: a fresh UUID)" }))
})
export type ResetData = typeof ResetData.Type

/** POST /step's body (openenv-core's `StepRequest`). `timeout_s` and `request_id` are accepted and unused: a step takes microseconds. */
export const StepBody = Schema.Struct({
  action: Metadata,
  timeout_s: Schema.optionalKey(Schema.NullOr(Schema.Finite.check(Schema.isGreaterThan(0)))),
  request_id: Schema.optionalKey(Schema.NullOr(Id))
})

// ---------------------------------------------------------------- what the server answers

/** The observation a reset or step answers (openenv-core's Observation fields minus `reward`, `done`, `metadata`). */
export const Observation = Schema.Struct({
  text: Schema.String.annotate({ description: "The environment's text observation" }),
  available_actions: Schema.Array(Schema.String).annotate({ description: "The actions valid now, where the environment lists them (shop's buttons, house's admissible commands); else []" }),
  instruction: Schema.NullOr(Schema.String).annotate({ description: "The environment's prompt (what actions look like): on a reset's observation; null on steps" }),
  task_id: Schema.NullOr(Schema.String).annotate({ description: "The episode's task, <train|test>:<index>" }),
  max_steps: Schema.NullOr(Schema.Int).annotate({ description: "The episode's step limit (the rollout's, not enforced by the server)" })
})
export type Observation = typeof Observation.Type

/**
 * The observation model as /schema describes it: openenv-core's `Observation` base holds `done`, `reward` and
 * `metadata` too, which its serialisation lifts out of `observation` into the StepResult.
 */
export const ObservationModel = Schema.Struct({
  ...Observation.fields,
  done: Schema.Boolean.annotate({ description: "Whether the episode has terminated" }),
  reward: Schema.NullOr(Schema.Finite).annotate({ description: "Reward signal from the last action: the episode's reward (0 or 1) when done, else 0" }),
  metadata: Schema.optionalKey(Metadata)
}).annotate({ title: "StepagentObservation" })

/** A reset's or step's answer (openenv-core's ResetResponse / StepResponse / the `data` of a WS observation). */
export const StepResult = Schema.Struct({
  observation: Observation,
  reward: Schema.NullOr(Schema.Finite),
  done: Schema.Boolean
})
export type StepResult = typeof StepResult.Type

/** The session's state (openenv-core's `State`: `episode_id`, `step_count`, plus ours). */
export const State = Schema.Struct({
  episode_id: Schema.NullOr(Schema.String).annotate({ description: "Unique identifier for the current episode" }),
  step_count: NonNegativeInt.annotate({ description: "Number of steps taken in the current episode" }),
  task_id: Schema.NullOr(Schema.String).annotate({ description: "The current episode's task, <train|test>:<index>" }),
  max_steps: Schema.NullOr(Schema.Int),
  done: Schema.Boolean.annotate({ description: "Whether the current episode has terminated" })
}).annotate({ title: "StepagentState" })
export type State = typeof State.Type

/** Every frame the server sends on /ws (what a client decodes). */
export const Reply = Schema.Union([
  Schema.Struct({ type: Schema.Literal("observation"), data: StepResult }),
  Schema.Struct({ type: Schema.Literal("state"), data: State }),
  Schema.Struct({ type: Schema.Literal("error"), data: Schema.Struct({ message: Schema.String, code: Schema.String }) })
])
export type Reply = typeof Reply.Type

/** An error frame: openenv-core's `WSErrorResponse`. */
export const errorReply = (e: ProtocolError, extra: Readonly<Record<string, unknown>> = {}) =>
  JSON.stringify({ type: "error", data: { message: e.message, code: e.code, ...extra } })

// ---------------------------------------------------------------- parsing

/** Effect Schema's multi-line issue ("Missing key\n  at [\"message\"]") as one line. */
const oneLine = (text: string) => text.split("\n").map((l) => l.trim()).filter((l) => l !== "").join(" ")

/** Decodes strictly (unknown fields refused): a VALIDATION_ERROR naming what is wrong. */
export const decode = <S extends Schema.ConstraintDecoder<unknown, never>>(schema: S, what: string) => {
  const run = Schema.decodeUnknownResult(schema)
  return (value: unknown): Result.Result<S["Type"], ProtocolError> =>
    Result.mapError(
      run(value, { onExcessProperty: "error" }),
      (e) => new ProtocolError({ code: "VALIDATION_ERROR", message: `Invalid ${what}: ${oneLine(e.message)}` })
    )
}

/** A short description of a JSON value for an error message (never the value itself: it may be megabytes). */
const kind = (v: unknown): string => {
  if (v === null) return "null"
  if (Array.isArray(v)) return "an array"
  if (typeof v === "string") return v.length <= 20 ? JSON.stringify(v) : "a long string"
  return typeof v === "object" ? "an object" : typeof v === "number" ? String(v) : typeof v
}

/** JSON text to a value; INVALID_JSON when it is not JSON. */
export const parseJson = (text: string): Result.Result<unknown, ProtocolError> => {
  try {
    return Result.succeed(JSON.parse(text) as unknown)
  } catch {
    return Result.fail(new ProtocolError({ code: "INVALID_JSON", message: "Invalid JSON: the message is not a JSON document" }))
  }
}

/** A message a client sends on /ws, decoded. */
export type Incoming =
  | { readonly type: "reset"; readonly data: ResetData }
  | { readonly type: "step"; readonly action: Action }
  | { readonly type: "state" }
  | { readonly type: "close" }

const ResetMessage = Schema.Struct({ type: Schema.Literal("reset"), data: Schema.optionalKey(Metadata) })
const StepMessage = Schema.Struct({ type: Schema.Literal("step"), data: Metadata })
const StateMessage = Schema.Struct({ type: Schema.Literal("state") })
const CloseMessage = Schema.Struct({ type: Schema.Literal("close") })
const decodeReset = decode(ResetMessage, "message")
const decodeStep = decode(StepMessage, "message")
const decodeState = decode(StateMessage, "message")
const decodeClose = decode(CloseMessage, "message")
const decodeResetData = decode(ResetData, "reset data")
const decodeAction = decode(Action, "action")

const types = "reset, step, state or close"

/** One text frame of /ws: INVALID_JSON, UNKNOWN_TYPE or VALIDATION_ERROR when it is not a message of the protocol. */
export const incoming = (text: string): Result.Result<Incoming, ProtocolError> =>
  Result.gen(function*() {
    const json = yield* parseJson(text)
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      return yield* Result.fail(new ProtocolError({ code: "VALIDATION_ERROR", message: `Invalid message: a message is a JSON object with a "type" (${types}), got ${kind(json)}` }))
    }
    const type: unknown = "type" in json ? json.type : undefined
    switch (type) {
      case "reset": {
        const m = yield* decodeReset(json)
        return { type: "reset", data: yield* decodeResetData(m.data ?? {}) } as const
      }
      case "step": {
        const m = yield* decodeStep(json)
        return { type: "step", action: yield* decodeAction(m.data) } as const
      }
      case "state":
        return yield* decodeState(json)
      case "close":
        return yield* decodeClose(json)
      case "mcp":
        return yield* Result.fail(new ProtocolError({ code: "UNKNOWN_TYPE", message: `Unknown message type: mcp (this environment has no MCP tools; it answers ${types})` }))
      default:
        return yield* Result.fail(new ProtocolError({ code: "UNKNOWN_TYPE", message: `Unknown message type: ${type === undefined ? "none given" : kind(type)} (expected ${types})` }))
    }
  })

/** The JSON Schemas /schema answers (openenv-core's `SchemaResponse`), derived from the schemas that decode and encode. */
export const schemas = () => ({
  action: Schema.toJsonSchemaDocument(Action, { onExcessProperty: "error" }).schema,
  observation: Schema.toJsonSchemaDocument(ObservationModel).schema,
  state: Schema.toJsonSchemaDocument(State).schema
})
